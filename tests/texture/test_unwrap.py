"""The UV support's mirror map: each texel's mirror uv lands on the mirrored surface point."""
import torch
import torch.nn.functional as Fn

from headsmith.render import world_to_uv
from headsmith.uvspace import uv_support


def test_mirror_uv_lands_on_the_mirrored_surface_point(openhead):
    size = 256
    sup = uv_support(openhead, size)
    pos = world_to_uv(sup.raster, openhead.v_template[None].float())[0]          # (S, S, 3) metres
    # the surface point at each texel's mirror uv (bilinear), from the position map
    at_mirror = Fn.grid_sample(pos.permute(2, 0, 1)[None], sup.mirror_grid, mode="bilinear",
                               align_corners=False)[0].permute(1, 2, 0)
    sel = sup.has_mirror & (sup.part == 0)
    # keep texels away from chart borders, where bilinear sampling mixes in empty texels
    inner = Fn.max_pool2d((~sup.raster.mask).float()[None, None], 5, 1, 2)[0, 0] == 0
    sel &= inner
    assert int(sel.sum()) > 0.4 * int(sup.raster.mask.sum())
    mirrored = pos[sel] * torch.tensor([-1.0, 1.0, 1.0])
    err = (at_mirror[sel] - mirrored).norm(dim=-1)
    # measured: median 0.1 mm, 99th percentile 0.5 mm; corners out of order give 4 mm and 22 mm
    assert float(err.median()) < 5e-4 and float(err.quantile(0.99)) < 3e-3, (float(err.median()), float(err.quantile(0.99)))


def test_dim_shading_is_not_trusted():
    """A texel's photo sample counts fully where every channel of its shading is at least
    DIM_SHADING of the ambient irradiance, in proportion below, and not at all at none: there
    the quotient photo / shading is noise blown up."""
    import torch

    from headsmith.render import default_light
    from headsmith.render.shading import SH_CONSTANTS
    from headsmith.texture.unwrap import DIM_SHADING, shading_trust

    light = default_light()[0]
    ambient = float(light[0, 0]) * SH_CONSTANTS[0]
    shading = torch.tensor([[[ambient] * 3, [DIM_SHADING * ambient] * 3],
                            [[ambient, ambient, 0.5 * DIM_SHADING * ambient], [0.0, ambient, ambient]]])
    assert torch.allclose(shading_trust(shading, light), torch.tensor([[1.0, 1.0], [0.5, 0.0]]), atol=1e-6)
