"""The skin's roughness map: shinier T-zone and lips, matte cheeks, in the model's UV layout."""
import numpy as np
import torch

from headsmith.texture.roughness import (ROUGHNESS_SIZE, SKIN_ROUGHNESS, REGION_ROUGHNESS, roughness_map,
                                         vertex_roughness)
from headsmith.uvspace import uv_support


def _region_mean(model, values, name):
    m = model.vertex_regions[model.region_names.index(name)] > 0.9
    return float(values[m].mean())


def test_vertex_roughness_by_region(openhead):
    r = vertex_roughness(openhead)
    assert r.shape == (openhead.n_vertices,) and 0.3 <= float(r.min()) and float(r.max()) <= 0.7
    nose, lips, cheeks = (_region_mean(openhead, r, n) for n in ("nose", "mouth", "cheeks"))
    assert lips < nose < cheeks
    f = openhead.vertex_regions[openhead.region_names.index("forehead")] > 0.9
    x = openhead.v_template[:, 0].abs()
    assert float(r[f & (x < 0.01)].mean()) < float(r[f & (x > 0.05)].mean()) - 0.04   # the T-zone


def test_map_follows_the_vertices_in_uv(openhead):
    orm = roughness_map(openhead)
    assert orm.shape == (ROUGHNESS_SIZE, ROUGHNESS_SIZE, 3) and orm.dtype == np.uint8
    assert (orm[..., 0] == 255).all() and (orm[..., 2] == 0).all()        # occlusion 1, metallic 0
    # each vertex's texel holds about its roughness (the map is blurred by a texel)
    lay = openhead.uv_layout
    corner = lay.faces.reshape(-1)
    vert = openhead.faces.reshape(-1)
    uv = lay.uv[corner].numpy()
    px = np.clip((uv[:, 0] * ROUGHNESS_SIZE).astype(int), 0, ROUGHNESS_SIZE - 1)
    py = np.clip(((1 - uv[:, 1]) * ROUGHNESS_SIZE).astype(int), 0, ROUGHNESS_SIZE - 1)
    got = orm[py, px, 1] / 255.0
    want = vertex_roughness(openhead)[vert].numpy()
    skin = (openhead.vertex_part == 0).numpy()[vert]
    off = np.abs(got - want)[skin]
    assert np.median(off) < 0.01 and (off > 0.05).mean() < 0.05     # a flipped map: 17 % over 0.05
    inside = uv_support(openhead, ROUGHNESS_SIZE).part >= 0
    assert orm[..., 1][~inside.numpy()].min() > 0                          # filled past the charts


def test_a_model_without_regions_is_uniform(openhead):
    class Bare:
        region_names: list = []
        v_template = openhead.v_template

    r = vertex_roughness(Bare())
    assert torch.allclose(r, torch.full_like(r, SKIN_ROUGHNESS))
    assert set(REGION_ROUGHNESS) <= set(openhead.region_names) - {"face", "forehead"}
