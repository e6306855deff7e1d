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
