"""Issue 4's acceptance on the committed, trained OpenHead detail decoder (assets/detail/)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as Fn

from headsmith.detail.decoder import OnnxWrinkleDecoder, TorchWrinkleDecoder
from headsmith.detail.person import OPENHEAD_DECODER_ONNX, load_openhead_decoder
from headsmith.render import interpolate, rasterize_uv, surface_gradient, vertex_normals, world_to_uv

S = 256


@pytest.fixture(scope="module")
def dec(openhead):
    net = load_openhead_decoder(n_expression=openhead.n_expression)
    assert net is not None, "assets/detail/openhead_detail.pt is missing"
    return TorchWrinkleDecoder(net, openhead.n_expression)


@pytest.fixture(scope="module")
def geo(openhead):
    m = openhead
    lay = m.uv_layout
    raster = rasterize_uv(lay.uv, lay.faces, m.faces, S)
    P = world_to_uv(raster, m.v_template[None])
    N = Fn.normalize(world_to_uv(raster, vertex_normals(m.v_template[None], m.faces)), dim=-1, eps=1e-8)

    def region(name):
        r = m.vertex_regions[m.region_names.index(name)][None, :, None]
        return (interpolate(raster.fragments, m.faces, r)[0, ..., 0] > 0.5).numpy()

    return raster, P, N, region


CODE = np.zeros(128, np.float32)
CODE[:8] = [0.7, 0.7, 0.5, 0.5, 1, 0, 0, 0]


def _d(openhead, dec, expr, jaw=0.0):
    e = openhead.expression_vector(expr).numpy()
    return dec.decode(CODE[None], e, np.array([[jaw, 0, 0]], np.float32))[0]


BROWS = {"browInnerUp": 1.0, "browOuterUpLeft": 1.0, "browOuterUpRight": 1.0}


def test_brows_up_horizontal_forehead_furrows_and_quiet_neutral(openhead, dec, geo):
    raster, P, N, region = geo
    fore = region("forehead")
    neutral, up = _d(openhead, dec, {}), _d(openhead, dec, BROWS)
    assert (up[fore] ** 2).sum() >= 5 * (neutral[fore] ** 2).sum()
    assert np.abs(neutral[fore]).max() < 2.5e-4     # neutral: static detail only (fractions of a mm)
    g = surface_gradient(P, N, torch.as_tensor(up - neutral)[None], raster.mask)[0].numpy()[fore]
    assert (g[:, 1] ** 2).sum() > 2.0 * (g[:, 0] ** 2).sum()


def test_squint_crows_feet(openhead, dec, geo):
    raster, P, N, region = geo
    L = openhead().landmarks3d[0].detach()
    d = torch.cdist(P[0].reshape(-1, 3), torch.stack([L[36], L[45]])).min(1).values.reshape(S, S).numpy()
    near = (d < 0.02) & raster.mask.numpy() & (np.abs(P[0, ..., 0].numpy()) > float(L[45, 0]) - 0.002)
    far = raster.mask.numpy() & (d > 0.04)
    sq = _d(openhead, dec, {"eyeSquintLeft": 1.0, "eyeSquintRight": 1.0}) - _d(openhead, dec, {})
    assert np.abs(sq[near]).mean() > 3 * np.abs(sq[far]).mean()


def test_symmetric_expression_symmetric_map(openhead, dec, geo):
    raster, P, N, region = geo
    from headsmith.texture.unwrap import uv_support
    sup = uv_support(openhead, S)
    grid = torch.stack([sup.mirror_uv[..., 0] * 2 - 1, 1 - sup.mirror_uv[..., 1] * 2], -1)[None]
    dyn = _d(openhead, dec, {**BROWS, "mouthSmileLeft": 0.8, "mouthSmileRight": 0.8}) - _d(openhead, dec, {})
    mirrored = Fn.grid_sample(torch.as_tensor(dyn)[None, None], grid, align_corners=False)[0, 0].numpy()
    sel = sup.has_mirror.numpy() & region("face")
    assert np.abs(dyn - mirrored)[sel].mean() < 0.3 * np.abs(dyn)[sel].mean()


def test_small_input_changes_small_output_changes(openhead, dec):
    e = openhead.expression_vector({"browInnerUp": 0.5, "mouthSmileLeft": 0.4}).numpy()
    j = np.zeros((1, 3), np.float32)
    base = dec.decode(CODE[None], e, j)
    for eps in (1e-2, 1e-3):
        assert np.abs(dec.decode(CODE[None], e + eps, j) - base).max() < 2e-3 * eps / 1e-2 + 1e-6


def test_onnx_asset_matches_torch(openhead, dec):
    onnx = OnnxWrinkleDecoder(OPENHEAD_DECODER_ONNX, openhead.n_expression)
    e = openhead.expression_vector(BROWS).numpy()
    j = np.array([[0.1, 0, 0]], np.float32)
    assert np.abs(onnx.decode(CODE[None], e, j) - dec.decode(CODE[None], e, j)).max() < 1e-6
