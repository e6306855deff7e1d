"""How finely a photo saw the face, in the detail map's texels, and the blur that keeps shape from
shading at what the photo resolves.

A face 100 pixels across, cropped and enlarged for the fit, still holds no structure finer than
its own pixels: what shape from shading reads there at one or two pixels is JPEG ringing, block
edges and sensor noise, which the coherence test (line_relief.py) keeps when it happens to be
elongated (the astronaut's chin: strokes). So the residual relief is band-limited to the photo:
a Gaussian of RESOLVED_PX photo pixels, less the blur the map's own texel grid already has.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ..headmodel import HeadModel
from ..render import OrthographicCamera
from ..texture.fill import gaussian_blur
from ..uvspace import surface_maps, uv_support

RESOLVED_PX = 1.0      # Gaussian sigma, photo pixels: finer relief is not the photo's to tell
GRID_SIGMA = 0.5       # texels: the blur a map's texel grid has of itself
MIN_SIGMA = 0.25       # texels: below this the band limit is left out
FACING = 0.3           # texels the camera sees at least this square-on count in the median


def photo_pixels_per_texel(model: HeadModel, posed_vertices: torch.Tensor, camera: torch.Tensor,
                           crop_size: int, crop_matrix: np.ndarray, seen: np.ndarray, size: int) -> float:
    """posed_vertices (1, V, 3) metres, camera (1, 3) DECA camera of the crop, crop_size its
    pixels, crop_matrix (2, 3) photo pixels -> crop pixels; seen (T, T) in [0, 1] how well the
    photo saw each texel (any T). -> the median, over the face the photo saw square-on, of the
    original photo's pixels per texel of a `size` map (the geometric mean of the two directions)."""
    sup = uv_support(model, size)
    P, N = surface_maps(sup.raster, posed_vertices.detach().float().cpu(), model.faces.cpu())
    px = OrthographicCamera(camera.detach().float().cpu()).project(P.reshape(1, -1, 3), crop_size, crop_size)
    px = px[0, :, :2].reshape(size, size, 2)
    du = (px[:-1, 1:] - px[:-1, :-1]).norm(dim=-1)
    dv = (px[1:, :-1] - px[:-1, :-1]).norm(dim=-1)
    crop_per_photo = math.sqrt(abs(float(np.linalg.det(np.asarray(crop_matrix, np.float64)[:, :2]))))
    per_texel = (du * dv).sqrt() / max(crop_per_photo, 1e-9)
    seen_t = torch.nn.functional.interpolate(torch.as_tensor(seen, dtype=torch.float32)[None, None], size=(size, size),
                                             mode="area" if seen.shape[0] > size else "bilinear")[0, 0]
    use = (seen_t[:-1, :-1] > 0.5) & (N[0, :-1, :-1, 2] > FACING) & sup.raster.mask[:-1, :-1]
    if not bool(use.any()):
        return float("inf")
    return float(per_texel[use].median())


def resolution_sigma(pixels_per_texel: float) -> float:
    """Texels: the Gaussian that takes relief finer than RESOLVED_PX photo pixels out of a map
    whose texels span 1 / pixels_per_texel photo pixels (0 where the map is no finer than that)."""
    if not math.isfinite(pixels_per_texel) or pixels_per_texel <= 0:
        return 0.0
    s = math.sqrt(max((RESOLVED_PX / pixels_per_texel) ** 2 - GRID_SIGMA ** 2, 0.0))
    return s if s >= MIN_SIGMA else 0.0


def band_limit(relief: torch.Tensor, sigma: float) -> torch.Tensor:
    """relief (1, S, S) metres -> the same blurred by a Gaussian of `sigma` texels (resolution_sigma;
    0: unchanged), with autograd: shape from shading fits the relief through it."""
    return gaussian_blur(relief[0][..., None], sigma)[None, ..., 0] if sigma > 0 else relief
