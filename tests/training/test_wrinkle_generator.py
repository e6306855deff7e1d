"""The synthetic wrinkle generator has the properties the decoder must learn (issue 4's tests)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as Fn

from headsmith.render import rasterize_uv, surface_gradient, vertex_normals, world_to_uv
from headsmith_training.wrinkle_generator import (build_tables, compression_field, generate,
                                                  person_code, sample_expressions)

S = 256


@pytest.fixture(scope="module")
def setup(openhead):
    m = openhead
    tables = build_tables(m, S)
    lay = m.uv_layout
    raster = rasterize_uv(lay.uv, lay.faces, m.faces, S)
    P = world_to_uv(raster, m.v_template[None])
    N = Fn.normalize(world_to_uv(raster, vertex_normals(m.v_template[None], m.faces)), dim=-1, eps=1e-8)

    def region(name):
        from headsmith.render import interpolate
        r = m.vertex_regions[m.region_names.index(name)][None, :, None]
        return interpolate(raster.fragments, m.faces, r)[0, ..., 0] > 0.5

    code = torch.tensor(person_code(0.7, 0.7, 0.5, 0.5, [1, 0, 0, 0]))[None]
    return m, tables, raster, P, N, region, code


def _maps(setup, expr, jaw=None):
    m, tables, raster, P, N, region, code = setup
    e = m.expression_vector(expr)
    return generate(m, tables, code, e, torch.zeros(1, 3) if jaw is None else jaw)


def test_neutral_has_only_the_static_part(setup):
    m, tables, *_ = setup
    neutral = _maps(setup, {})
    comp, _ = compression_field(m, tables, m.expression_vector({}), torch.zeros(1, 3))
    assert comp.abs().max() < 1e-4
    assert neutral.abs().max() < 3e-4          # pores only: a fraction of a millimetre


def test_brows_up_gives_horizontal_forehead_furrows(setup):
    m, tables, raster, P, N, region, code = setup
    fore = region("forehead")
    neutral = _maps(setup, {})
    up = _maps(setup, {"browInnerUp": 1.0, "browOuterUpLeft": 1.0, "browOuterUpRight": 1.0})
    dyn = up - neutral
    energy = lambda d: float((d[0][fore] ** 2).sum())  # noqa: E731
    assert energy(up) >= 5 * energy(neutral)
    g = surface_gradient(P, N, dyn, raster.mask)[0][fore]
    # furrows running left-right vary up-down: the gradient is mostly along y
    assert (g[:, 1] ** 2).sum() > 2.0 * (g[:, 0] ** 2).sum()


def test_squint_gives_crows_feet_at_the_outer_eye_corners(setup):
    m, tables, raster, P, N, region, code = setup
    L = m().landmarks3d[0].detach()
    corners = torch.stack([L[36], L[45]])
    d = torch.cdist(P[0].reshape(-1, 3), corners).min(1).values.reshape(S, S)
    near = (d < 0.02) & raster.mask & (P[0, ..., 0].abs() > L[45, 0] - 0.002)
    sq = _maps(setup, {"eyeSquintLeft": 1.0, "eyeSquintRight": 1.0}) - _maps(setup, {})
    far = raster.mask & (d > 0.04)
    assert sq[0][near].abs().mean() > 4 * sq[0][far].abs().mean()
    assert sq[0][near].min() < -1e-4           # furrows of a tenth of a millimetre or more


def test_symmetric_expression_gives_a_symmetric_map(setup):
    m, tables, raster, P, N, region, code = setup
    from headsmith.texture.unwrap import uv_support
    sup = uv_support(m, S)
    d = _maps(setup, {"mouthSmileLeft": 0.8, "mouthSmileRight": 0.8, "browInnerUp": 0.6,
                      "browOuterUpLeft": 0.6, "browOuterUpRight": 0.6})
    grid = sup.mirror_grid
    mirrored = Fn.grid_sample(d[:, None], grid, mode="bilinear", align_corners=False)[0, 0]
    sel = sup.has_mirror & region("face")
    static = _maps(setup, {})
    dyn, dyn_m = (d - static)[0][sel], (mirrored - Fn.grid_sample(static[:, None], grid, align_corners=False)[0, 0])[sel]
    assert (dyn - dyn_m).abs().mean() < 0.1 * dyn.abs().mean()


def test_expression_sampler_covers_neutral_and_key_poses(openhead):
    E, J = sample_expressions(400, openhead.expression_names, np.random.default_rng(0))
    assert E.shape == (400, 52) and J.shape == (400, 3)
    assert (E.sum(1) == 0).mean() > 0.05 and (J[:, 0] > 0).mean() > 0.2
    assert E[:, openhead.expression_names.index("browInnerUp")].max() > 0.9
