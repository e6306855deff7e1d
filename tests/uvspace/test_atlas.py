"""uv_support is computed once per model topology and size, whichever object asks."""
import torch

from headsmith.headmodel import OpenHead
from headsmith.uvspace import uv_support
from headsmith.uvspace.atlas import topology_key


def test_two_loads_of_one_model_share_the_atlas(openhead):
    other = OpenHead()
    assert other is not openhead
    assert topology_key(other) == topology_key(openhead)
    assert uv_support(other, 64) is uv_support(openhead, 64)
    assert uv_support(openhead, 32) is not uv_support(openhead, 64)
    assert uv_support(openhead, 32).raster.mask.shape == (32, 32)


def test_another_topology_gets_its_own_atlas(openhead):
    changed = OpenHead()
    changed.uv_layout.uv = changed.uv_layout.uv.clone() * 0.5   # the same mesh on a shrunken atlas
    assert topology_key(changed) != topology_key(openhead)
    a, b = uv_support(openhead, 64), uv_support(changed, 64)
    assert a is not b
    assert b.raster.mask.sum() < a.raster.mask.sum()
    assert torch.equal(uv_support(openhead, 64).raster.mask, a.raster.mask)


def _seen_texels(model, sup, yaw: float, pitch: float) -> torch.Tensor:
    """(S, S) bool: texels a 256-px orthographic view of the neutral head, turned by yaw and
    pitch (radians), shows (visible, facing the camera)."""
    import numpy as np

    from headsmith.texture.unwrap import _photo_samples

    cy, sy, cp, sp = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch)
    R = torch.tensor([[1, 0, 0], [0, cp, -sp], [0, sp, cp]]) @ torch.tensor([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    v = model.v_template.float() @ R.float().T
    v = v - v.mean(0)
    camera = torch.tensor([[1.0 / float(v[:, :2].abs().max()), 0.0, 0.0]])
    _, _, _, w = _photo_samples(sup, model.faces, v[None], camera, np.zeros((256, 256, 3), np.uint8))
    return w > 0


def test_eye_sockets_are_skin_no_view_shows(openhead):
    """The sockets and the lids' inner side are skin, and no view from the front half (yaw up
    to 70 degrees, pitch up to 40) shows them, while the skin just around them is seen."""
    import math

    sup = uv_support(openhead, 256)
    sockets = sup.eye_sockets
    assert int(sockets.sum()) > 500 and not (sockets & ~(sup.part == 0)).any()
    assert not (sup.skin & sockets).any()
    seen_any = torch.zeros_like(sockets)
    for yaw in (-70, -35, 0, 35, 70):
        for pitch in (-40, 0, 40):
            seen_any |= _seen_texels(openhead, sup, math.radians(yaw), math.radians(pitch))
    # texels on the lids' rim straddle the edge at 256: 39 of 1,213 when written
    assert int((seen_any & sockets).sum()) <= 0.05 * int(sockets.sum())
    # the skin around the eyes is seen: a socket set grown over the outer lids would fail above
    ring = torch.nn.functional.max_pool2d(sockets.float()[None, None], 7, 1, 3)[0, 0] > 0
    assert (seen_any & ring & sup.skin).sum() > 0.3 * (ring & sup.skin).sum()


def test_mirrored_reads_the_other_side_at_any_resolution(openhead):
    """The neutral surface's x read at each texel's mirror point is minus its own x, at the
    atlas's size and at a quarter of it."""
    from headsmith.render import world_to_uv

    sup = uv_support(openhead, 512)
    xyz = world_to_uv(sup.raster, openhead.v_template.float()[None])[0]
    for size in (512, 128):
        x = torch.nn.functional.adaptive_avg_pool2d(xyz[..., :1].permute(2, 0, 1)[None], size)[0].permute(1, 2, 0)
        inner = sup.has_mirror_at(size) & (torch.nn.functional.adaptive_avg_pool2d(
            (sup.part >= 0).float()[None, None], size)[0, 0] > 0.999)
        m = sup.mirrored(x, mode="nearest")[..., 0]
        err = (m + x[..., 0])[inner].abs()
        assert int(inner.sum()) > 100 and float(err.median()) < 0.002, (size, float(err.median()))
