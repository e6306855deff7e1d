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
from ..optim import Adam
from ..render import GradientFrame, sh_shading
from ..uvspace import surface_maps, uv_support
from ..texture.fill import gaussian_blur
from .albedo_edges import split_albedo
from .expression_strain import expression_compression
from .photo_resolution import band_limit

D_MAX = 0.01  # metres
ALBEDO_LOWPASS = 48   # the low-pass albedo's Gaussian sigma is size / this (texels): what varies
                      # finer than it is read as relief (shape from shading alone: no decoder)


@dataclass
class StaticDetail:
    displacement: np.ndarray     # (S, S) float32 metres, UV layout
    normal_map: np.ndarray       # (T, T, 3) float32 tangent space in [-1, 1], at texture size
    loss_start: float | None = None   # shape-from-shading photo loss, first and last step (None:
    loss_end: float | None = None     # not fitted, e.g. DECA's decoder at neutral)


def _resize_map(x: np.ndarray, size: int) -> torch.Tensor:
    t = torch.as_tensor(x, dtype=torch.float32)
    t = t[..., None] if t.dim() == 2 else t
    out = Fn.interpolate(t.permute(2, 0, 1)[None], size=(size, size), mode="area" if t.shape[0] > size else "bilinear")
    return out[0].permute(1, 2, 0)


@dataclass
class SfsProblem:
    """Everything the shape-from-shading loss needs, in UV space at one resolution."""

    size: int
    mask: torch.Tensor          # (S, S) texels of the layout
    P: torch.Tensor             # (1, S, S, 3) posed positions
    N: torch.Tensor             # (1, S, S, 3) posed smooth normals
    light: torch.Tensor         # (1, 9, 3)
    A_smooth: torch.Tensor      # (S, S, 3) low-pass albedo
    target: torch.Tensor        # (1, S, S) photo luminance re-shaded on the coarse surface
    W: torch.Tensor             # (S, S) texel weights (observed face skin)
    support: torch.Tensor       # (1, S, S) where detail may be non-zero (soft)
    grid: torch.Tensor          # (1, S, S, 2) mirror lookup
    has_mirror: torch.Tensor    # (S, S)
    trust: torch.Tensor | None = None   # (S, S) in [0, 1]: how far the fine albedo may be read as shading

    def __post_init__(self):
        # fixed surface: its frame is built once, and only at the texels the loss weighs (any
        # photo's W > 0: the face skin the photos saw), which are all a step shades
        texels = torch.nonzero((self.W > 0).reshape(-1, self.size * self.size).any(0)).squeeze(1)
        self.frame = GradientFrame.of(self.P, self.N, self.mask).at(texels)
        pick = lambda x: x.flatten(-2)[..., texels]  # noqa: E731
        self._albedo_at = pick(self.A_smooth.movedim(-1, -3)).movedim(-2, -1)    # ([B,] K, 3)
        self._target_at, self._weight_at = pick(self.target), pick(self.W)       # (B, K), ([B,] K)

    def photo_loss(self, D: torch.Tensor) -> torch.Tensor:
        """D (B, S, S) metres -> the weighted mean absolute luminance error of the shaded relief."""
        pred = (self._albedo_at * sh_shading(self.frame.bumped_normals(D), self.light)).mean(-1)
        return ((pred - self._target_at).abs() * self._weight_at).sum() / self.W.sum().clamp(min=1)

    def regularisers(self, D: torch.Tensor, w_sparse: float, w_smooth: float, w_sym: float) -> torch.Tensor:
        lap = D[:, 1:-1, 1:-1] * 4 - D[:, :-2, 1:-1] - D[:, 2:, 1:-1] - D[:, 1:-1, :-2] - D[:, 1:-1, 2:]
        mirrored = Fn.grid_sample(D[:, None], self.grid, mode="bilinear", align_corners=False)[:, 0]
        return (w_sparse * D.abs().mean() / 1e-3 + w_smooth * (lap.abs() * self.mask[1:-1, 1:-1]).mean() / 1e-3
                + w_sym * ((D - mirrored).abs() * self.has_mirror).mean() / 1e-3)


def prepare_sfs(model: HeadModel, posed_vertices: torch.Tensor, light: torch.Tensor, albedo: np.ndarray,
                observed: np.ndarray, size: int, albedo_lowpass: float = ALBEDO_LOWPASS) -> SfsProblem:
    """albedo_lowpass: the low-pass albedo's sigma is size / this, in texels."""
    from ..render import interpolate

    faces = model.faces.cpu()
    sup = uv_support(model, size)
    raster = sup.raster
    mask = raster.mask
    v = posed_vertices.detach().float().cpu()
    P, N = surface_maps(raster, v, faces)
    A = _resize_map(albedo, size).clamp(0, 1)   # reflectance
    W = _resize_map(observed, size)[..., 0] * mask
    skin = sup.skin & mask
    face = torch.ones_like(mask)
    if "face" in model.region_names:
        fv = model.vertex_regions[model.region_names.index("face")].cpu()[None, :, None]
        face = interpolate(raster.fragments, faces, fv)[0, ..., 0] > 0.5
    W = W * skin * face
    seen = W > 0.05
    light = light.float().cpu()
    S0 = sh_shading(N, light)
    target = (A * S0).mean(-1)                                  # luminance of the re-shaded photo
    # the low-pass albedo, and how far the rest may be read as relief (albedo edges are not)
    split = split_albedo(A, mask, seen, sigma=size / albedo_lowpass)
    A_smooth, W = split.smooth, W * split.trust
    grid = sup.mirror_grid
    # detail lives where the photos saw the face; it fades out smoothly beyond that
    support = gaussian_blur(seen.float()[..., None], sigma=size / 128)[..., 0].clamp(0, 1)[None]
    return SfsProblem(size, mask, P, N, light, A_smooth, target, W, support, grid, sup.has_mirror.float(), split.trust)


def tangent_normal_map(model: HeadModel, rest_vertices: torch.Tensor, D: torch.Tensor, texture_size: int,
                       pores: np.ndarray | None = None) -> np.ndarray:
    """(1, S, S) metres -> (T, T, 3) tangent-space normals in [-1, 1] of the neutral mesh at texture
    size, made as every wrinkle map is (`wrinkles.decoder.normal_map` of `high_res_relief`, with
    the decoder's pores (S, S) when its rest term is pores), so the static map and the key maps
    agree wherever no wrinkle acts."""
    from ..wrinkles.decoder import UVGeometry, high_res_relief, normal_map

    geo = UVGeometry.of(model, rest_vertices, texture_size)
    hi = high_res_relief(D.detach().float().cpu().numpy(), texture_size, pores)
    return normal_map(geo, hi)[0].astype(np.float32)


def fit_static_detail(model: HeadModel, rest_vertices: torch.Tensor, posed_vertices: torch.Tensor,
                      light: torch.Tensor, albedo: np.ndarray, observed: np.ndarray, size: int = 256,
                      texture_size: int = 1024, iterations: int = 120, w_sparse: float = 3e-3,
                      w_smooth: float = 3e-2, w_sym: float = 1e-2, photo_sigma: float = 0.0) -> StaticDetail:
    """rest_vertices / posed_vertices (1, V, 3): the fitted neutral mesh and the mesh as posed in
    the (first) photo; light (1, 9, 3); albedo (T, T, 3) linear and observed (T, T) from the unwrap;
    photo_sigma (texels of `size`) band-limits the relief to what the photo resolves
    (photo_resolution.py; 0: none). The relief is left out where the photo's expression
    compresses the skin (expression_strain.py)."""
    prob = prepare_sfs(model, posed_vertices, light, albedo, observed, size)
    X = torch.zeros(1, size, size, requires_grad=True)
    opt = Adam([X], lr=0.05)
    losses = []

    def relief(xx):
        return band_limit(D_MAX * torch.tanh(xx) * prob.support, photo_sigma)

    for _ in range(iterations):
        opt.zero_grad()
        D = relief(X)
        photo = prob.photo_loss(D)
        loss = photo + prob.regularisers(D, w_sparse, w_smooth, w_sym)
        loss.backward()
        opt.step()
        losses.append(float(photo.detach()))
    at_rest = 1 - expression_compression(model, rest_vertices, posed_vertices, size)
    D = relief(X).detach() * prob.mask * at_rest
    nm = tangent_normal_map(model, rest_vertices, D, texture_size)
    return StaticDetail(D[0].numpy().astype(np.float32), nm, losses[0] if losses else 0.0,
                        losses[-1] if losses else 0.0)
