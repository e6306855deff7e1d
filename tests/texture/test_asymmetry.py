"""One-sided occluders (a hand on a cheek) found by the face's left/right symmetry, on de-lit
colour maps made by code on OpenHead's UV layout."""
import torch
import torch.nn.functional as Fn

from headsmith.render import world_to_uv
from headsmith.texture.asymmetry import one_sided_occluders
from headsmith.texture.occlusion import colour_features, reference_skin, skin_zones
from headsmith.uvspace import uv_support

SIZE = 512
SKIN = (0.50, 0.33, 0.25)      # linear
HAND = (0.62, 0.30, 0.17)      # linear: another, warmer skin tone, a little darker in log brightness


def _near(openhead, centre, radius: float) -> torch.Tensor:
    """(SIZE, SIZE) bool: texels of the neutral head within radius (metres) of centre."""
    P = world_to_uv(uv_support(openhead, SIZE).raster, openhead.v_template.float()[None])[0]
    return (P - torch.tensor(centre)).norm(dim=-1) < radius


def _occluders(openhead, albedo):
    z, sup = skin_zones(openhead, SIZE), uv_support(openhead, SIZE)
    plain = z.plain
    seen = plain.float()
    feat = colour_features(albedo)
    return one_sided_occluders(feat, seen, plain & sup.has_mirror, sup, *reference_skin(feat, seen, z))


def _cheek(openhead, side: float, radius: float) -> torch.Tensor:
    """A disc on the lower cheek, beside the mouth corner (side +1: the subject's left)."""
    lm = openhead.landmarks.points(openhead.v_template.float()[None], openhead.faces, torch.zeros(1))[0]
    corner = lm[54] if side > 0 else lm[48]
    return _near(openhead, (corner + torch.tensor([0.025 * side, 0.0, -0.01])).tolist(), radius)


def _mirrored(openhead, mask: torch.Tensor) -> torch.Tensor:
    """The texels whose mirror point lies in mask."""
    grid = uv_support(openhead, SIZE).mirror_grid
    m = Fn.grid_sample(mask.float()[None, None], grid, mode="nearest", align_corners=False)[0, 0]
    return (m > 0.5) & uv_support(openhead, SIZE).has_mirror


def test_a_patch_on_one_cheek_is_an_occluder_and_on_both_it_is_the_person(openhead):
    skin = torch.tensor(SKIN).expand(SIZE, SIZE, 3).clone()
    hand = _cheek(openhead, +1, 0.02)
    albedo = skin.clone()
    albedo[hand] = torch.tensor(HAND)
    occ = _occluders(openhead, albedo)
    core = hand & (_cheek(openhead, +1, 0.012))
    assert float(occ[core].mean()) > 0.9
    assert float(occ[_cheek(openhead, -1, 0.02)].max()) == 0.0          # its mirror is skin
    assert float(occ[~_cheek(openhead, +1, 0.03)].max()) < 0.05     # the soft edge's blur in UV space
    albedo[_mirrored(openhead, hand)] = torch.tensor(HAND)                 # both sides: the person's own
    assert float(_occluders(openhead, albedo).max()) == 0.0


def test_a_mole_stays(openhead):
    albedo = torch.tensor(SKIN).expand(SIZE, SIZE, 3).clone()
    albedo[_cheek(openhead, +1, 0.005)] = torch.tensor((0.12, 0.07, 0.05))
    assert float(_occluders(openhead, albedo).max()) == 0.0
