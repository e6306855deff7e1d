"""Static detail by shape from shading: a UV displacement map D (metres along the normal, DECA's
+-1 cm range) such that the fitted light on the displaced surface reproduces the fine shading in
the photo, with DECA's regularisers (L1 sparsity, smoothness, soft left/right symmetry).

Model: photo(t) = A_smooth(t) * S(n_D(t)), with A_smooth the low-pass unwrapped albedo (so the
fine intensity is explained by geometry), S the SH irradiance, n_D the normal of P + D N.
Everything is in UV space at `size`; only texels the photos saw directly count.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as Fn

from ..headmodel import HeadModel
from ..render import (displacement_to_normal, displacement_to_tangent_normal, rasterize_uv,
                      sh_shading, vertex_normals, world_to_uv)

D_MAX = 0.01  # metres


@dataclass
class StaticDetail:
    displacement: np.ndarray     # (S, S) float32 metres, UV layout
    normal_map: np.ndarray       # (T, T, 3) float32 tangent space in [-1, 1], at texture size
    loss_start: float
    loss_end: float


def _blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur of (H, W, C)."""
    r = int(3 * sigma)
    k = torch.exp(-torch.arange(-r, r + 1, dtype=x.dtype) ** 2 / (2 * sigma ** 2))
    k = k / k.sum()
    c = x.shape[-1]
    y = x.permute(2, 0, 1)[None]
    y = Fn.conv2d(Fn.pad(y, (r, r, 0, 0), mode="replicate"), k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    y = Fn.conv2d(Fn.pad(y, (0, 0, r, r), mode="replicate"), k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
    return y[0].permute(1, 2, 0)


def _resize_map(x: np.ndarray, size: int) -> torch.Tensor:
    t = torch.as_tensor(x, dtype=torch.float32)
    t = t[..., None] if t.dim() == 2 else t
    out = Fn.interpolate(t.permute(2, 0, 1)[None], size=(size, size), mode="area" if t.shape[0] > size else "bilinear")
    return out[0].permute(1, 2, 0)


def fit_static_detail(model: HeadModel, rest_vertices: torch.Tensor, posed_vertices: torch.Tensor,
                      light: torch.Tensor, albedo: np.ndarray, observed: np.ndarray, size: int = 256,
                      texture_size: int = 1024, iterations: int = 120, w_sparse: float = 3e-3,
                      w_smooth: float = 3e-2, w_sym: float = 1e-2) -> StaticDetail:
    """rest_vertices / posed_vertices (1, V, 3): the fitted neutral mesh and the mesh as posed in
    the (first) photo; light (1, 9, 3); albedo (T, T, 3) linear and observed (T, T) from the unwrap."""
    lay = model.uv_layout
    faces = model.faces.cpu()
    raster = rasterize_uv(lay.uv.float().cpu(), lay.faces.cpu(), faces, size)
    mask = raster.mask
    v = posed_vertices.detach().float().cpu()
    P = world_to_uv(raster, v)
    N = Fn.normalize(world_to_uv(raster, vertex_normals(v, faces)), dim=-1, eps=1e-8)
    A = _resize_map(albedo, size).clamp(0, 1)   # reflectance
    W = _resize_map(observed, size)[..., 0] * mask
    skin = (model.face_part.cpu()[raster.fragments.face_index[0].clamp(min=0)] == 0) & mask
    from ..texture.unwrap import uv_support
    sup = uv_support(model, size)
    face = torch.ones_like(mask)
    if "face" in model.region_names:
        fv = model.vertex_regions[model.region_names.index("face")].cpu()[None, :, None]
        from ..render import interpolate
        face = interpolate(raster.fragments, faces, fv)[0, ..., 0] > 0.5
    W = W * skin * face * ~sup.mouth_interior
    S0 = sh_shading(N, light.float().cpu())
    target = (A * S0).mean(-1)                                  # luminance of the re-shaded photo
    # low-pass albedo, normalised by the chart mask so chart borders and holes do not darken it
    mk = mask.float()[..., None]
    A_smooth = _blur(A * mk, sigma=size / 48) / _blur(mk, sigma=size / 48).clamp(min=1e-3)
    # mirror lookup for soft symmetry: the texel's mirrored position in the same map
    grid = torch.stack([sup.mirror_uv[..., 0] * 2 - 1, 1 - sup.mirror_uv[..., 1] * 2], -1)[None]
    has_m = sup.has_mirror.float()

    # detail lives where the photos saw the face; it fades out smoothly beyond that
    support = _blur(((W > 0.05).float())[..., None], sigma=size / 128)[..., 0].clamp(0, 1)[None]
    X = torch.zeros(1, size, size, requires_grad=True)
    opt = torch.optim.Adam([X], lr=0.05)
    losses = []
    for _ in range(iterations):
        opt.zero_grad()
        D = D_MAX * torch.tanh(X) * support
        n = displacement_to_normal(P, N, D, mask)
        pred = (A_smooth * sh_shading(n, light.float().cpu())).mean(-1)
        photo = ((pred - target).abs() * W).sum() / W.sum().clamp(min=1)
        lap = D[:, 1:-1, 1:-1] * 4 - D[:, :-2, 1:-1] - D[:, 2:, 1:-1] - D[:, 1:-1, :-2] - D[:, 1:-1, 2:]
        mirrored = Fn.grid_sample(D[:, None], grid, mode="bilinear", align_corners=False)[:, 0]
        loss = (photo + w_sparse * D.abs().mean() / 1e-3 + w_smooth * (lap.abs() * mask[1:-1, 1:-1]).mean() / 1e-3
                + w_sym * ((D - mirrored).abs() * has_m).mean() / 1e-3)
        loss.backward()
        opt.step()
        losses.append(float(photo.detach()))
    D = (D_MAX * torch.tanh(X) * support).detach() * mask
    # tangent-space normal map at texture resolution, on the neutral mesh
    raster_t = rasterize_uv(lay.uv.float().cpu(), lay.faces.cpu(), faces, texture_size)
    vr = rest_vertices.detach().float().cpu()
    Pt = world_to_uv(raster_t, vr)
    Nt = Fn.normalize(world_to_uv(raster_t, vertex_normals(vr, faces)), dim=-1, eps=1e-8)
    Dt = Fn.interpolate(D[None], size=(texture_size, texture_size), mode="bilinear", align_corners=False)[0]
    nm = displacement_to_tangent_normal(Pt, Nt, Dt, raster_t.mask)[0]
    return StaticDetail(D[0].numpy().astype(np.float32), nm.numpy().astype(np.float32),
                        losses[0] if losses else 0.0, losses[-1] if losses else 0.0)
