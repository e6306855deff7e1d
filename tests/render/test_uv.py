import math

import numpy as np

import torch

from headsmith.render import (MeshRenderer, OrthographicCamera, displacement_to_normal,
                              displacement_to_tangent_normal, rasterize_uv, sample_texture,
                              world_to_uv)
from tests.conftest import grid_plane


def test_world_to_uv_round_trip_of_positions():
    """Positions rasterized into UV and sampled back at each vertex's uv give the vertex."""
    v, f, uv = grid_plane(8)
    v = v.clone()
    v[:, 2] = 0.1 * torch.sin(3 * v[:, 0]) * torch.cos(2 * v[:, 1])  # a curved sheet
    raster = rasterize_uv(uv, f, f, 128)
    pos_map = world_to_uv(raster, v[None])  # (1, S, S, 3)
    interior = ((uv > 0.05) & (uv < 0.95)).all(-1)
    back = sample_texture(pos_map.permute(0, 3, 1, 2), uv[None, None])[0, 0]
    err = (back - v)[interior].abs().max()
    assert err < 2e-3
    assert raster.mask.float().mean() > 0.98


def test_textured_render_shows_the_texture_at_the_interpolated_uv():
    v, f, uv = grid_plane(4)
    S = 64
    # texture = (u, v, 0.5) encoded in the pixels (row 0 at v = 1)
    rows = (torch.arange(S) + 0.5) / S
    tex = torch.stack([rows[None].expand(S, S), (1 - rows)[:, None].expand(S, S),
                       torch.full((S, S), 0.5)], 0)[None].double()
    r = MeshRenderer(f, uv, f)
    cam = OrthographicCamera(torch.tensor([[1.5, 0.0, 0.0]], dtype=torch.float64))
    out = r.render(v[None], cam, (48, 48), texture=tex)
    ys, xs = torch.meshgrid(torch.arange(48, dtype=torch.float64) + 0.5,
                            torch.arange(48, dtype=torch.float64) + 0.5, indexing="ij")
    x = (xs / 24 - 1) / 1.5
    y = (1 - ys / 24) / 1.5
    inside = (x.abs() < 0.45) & (y.abs() < 0.45)
    assert torch.allclose(out.albedo[0, ..., 0][inside], (x + 0.5)[inside], atol=1e-6)
    assert torch.allclose(out.albedo[0, ..., 1][inside], (y + 0.5)[inside], atol=1e-6)


def test_displacement_to_normal_of_a_sine_height_field():
    """On a plane facing +z, D = a sin(k x) tilts the normal to (-a k cos(k x), 0, 1)/norm."""
    v, f, uv = grid_plane(32)
    S = 256
    raster = rasterize_uv(uv, f, f, S)
    P = world_to_uv(raster, v[None])
    N = world_to_uv(raster, torch.tensor([[0.0, 0.0, 1.0]], dtype=torch.float64).expand(1, len(v), 3))
    a, k = 0.01, 2 * math.pi * 3
    D = a * torch.sin(k * P[..., 0])
    n = displacement_to_normal(P, N, D, raster.mask)
    expected = torch.stack([-a * k * torch.cos(k * P[..., 0]), torch.zeros_like(D), torch.ones_like(D)], -1)
    expected = expected / expected.norm(dim=-1, keepdim=True)
    core = torch.zeros(S, S, dtype=torch.bool)
    core[8:-8, 8:-8] = True
    err = (n - expected).norm(dim=-1)[0][core & raster.mask]
    assert err.max() < 0.01
    # tangent space: T = +u = +x, B = +v = +y on this plane, so it equals the world normal
    ts = displacement_to_tangent_normal(P, N, D, raster.mask)
    assert (ts - expected).norm(dim=-1)[0][core].max() < 0.01
    flat = displacement_to_tangent_normal(P, N, torch.zeros_like(D), raster.mask)
    assert torch.allclose(flat[0][raster.mask], torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64), atol=1e-9)


def test_derivative_stencil_gives_the_masked_differences():
    """The live path's precomputed stencil equals the masked central / one-sided differences
    (chart borders, single-texel gaps and the image border included)."""
    from headsmith.render.uv import _uv_derivatives, derivative_stencil

    rng = np.random.default_rng(3)
    mask = torch.from_numpy(rng.random((40, 40)) > 0.25)
    mask[:, :3] = True                                  # touches the image border
    D = torch.from_numpy(rng.normal(size=(40, 40)).astype(np.float32))
    du, dv = _uv_derivatives(D[None, ..., None], mask)
    w = derivative_stencil(mask)
    Dp = torch.nn.functional.pad(D[None, None], (1, 1, 1, 1), mode="replicate")[0, 0]
    su = w[0] * Dp[1:-1, 2:] + w[1] * Dp[1:-1, :-2] + w[2] * D
    sv = w[3] * Dp[2:, 1:-1] + w[4] * Dp[:-2, 1:-1] + w[5] * D
    assert torch.allclose(su, du[0, ..., 0], atol=1e-6) and torch.allclose(sv, dv[0, ..., 0], atol=1e-6)
    assert du.abs().max() > 0.5


def test_a_frame_gathered_at_some_texels_shades_them_as_the_whole_map_does():
    """GradientFrame.at: the bumped normals at scattered texels (image border, chart borders,
    a batch of two) equal the whole map's there, and so do their gradients."""
    from headsmith.render import GradientFrame

    v, f, uv = grid_plane(16)
    v = v.clone()
    v[:, 2] = 0.1 * torch.sin(3 * v[:, 0]) * torch.cos(2 * v[:, 1])
    S = 48
    raster = rasterize_uv(uv, f, f, S)
    P = world_to_uv(raster, torch.stack([v, 1.1 * v]).float())
    N = torch.nn.functional.normalize(P.roll(1, -1) + torch.tensor([0.0, 0.0, 1.0]), dim=-1)
    mask = raster.mask.clone()
    mask[20:24, :] = False                                   # a gap between two "charts"
    frame = GradientFrame.of(P, N, mask)
    rng = np.random.default_rng(5)
    texels = torch.from_numpy(rng.choice(np.flatnonzero(mask.numpy()), 300, replace=False))
    texels = torch.cat([texels, torch.tensor([0, S - 1, S * S - 1, 19 * S + 7, 24 * S + 30])])
    D = torch.from_numpy(rng.normal(scale=0.02, size=(2, S, S)).astype(np.float32)).requires_grad_(True)
    whole = frame.bumped_normals(D).flatten(1, 2)[:, texels]
    part = frame.at(texels).bumped_normals(D)
    assert torch.allclose(part, whole, atol=1e-6)
    assert (whole - frame.n0.flatten(1, 2)[:, texels]).norm(dim=-1).mean() > 0.05   # the relief shows
    w = torch.randn(whole.shape)
    g_whole, = torch.autograd.grad((whole * w).sum(), D)
    g_part, = torch.autograd.grad((part * w).sum(), D)
    assert torch.allclose(g_part, g_whole, atol=1e-5)
