"""Which fine albedo shape from shading may read as relief: not the paint, nor the soft halo a
photo draws beside it."""
import torch

from headsmith.detail.albedo_edges import shading_trust


def _striped_skin(S: int = 256, width: int = 6):
    """Plain skin with a dark horizontal band (a brow) across the middle, its edges softened by
    a one-texel blur as a photo draws them; -> (albedo (S, S, 3), its low-pass (S, S, 3), the
    band's rows (first, last))."""
    albedo = torch.ones(S, S, 3) * torch.tensor([0.55, 0.38, 0.30])
    top = S // 2 - width // 2
    albedo[top:top + width] *= torch.tensor([0.35, 0.30, 0.28])
    k = torch.tensor([0.25, 0.5, 0.25])
    soft = (albedo[:-2] * k[0] + albedo[1:-1] * k[1] + albedo[2:] * k[2])
    albedo[1:-1] = soft
    return albedo, torch.ones(S, S, 3) * torch.tensor([0.55, 0.38, 0.30]), (top, top + width - 1)


def test_plain_skin_is_trusted_and_the_band_is_not():
    albedo, smooth, (first, last) = _striped_skin()
    t = shading_trust(albedo, smooth, torch.ones(albedo.shape[:2], dtype=torch.bool))
    assert float(t[first:last + 1].max()) < 0.05
    assert float(t[:first - 10].min()) > 0.95 and float(t[last + 11:].min()) > 0.95


def test_distrust_reaches_past_the_soft_edge():
    """Two texels beyond the blurred edge (the row the blur lightened, first - 1) at 256, ~2.5 mm,
    the skin is still not read as shading: a photo's halo lies there (with distrust spread one
    texel, as before, trust there was 1)."""
    albedo, smooth, (first, last) = _striped_skin()
    t = shading_trust(albedo, smooth, torch.ones(albedo.shape[:2], dtype=torch.bool))
    assert float(t[first - 3, 100]) < 0.25 and float(t[last + 3, 100]) < 0.25
    assert float(t[first - 6, 100]) > 0.95 and float(t[last + 6, 100]) > 0.95
