"""Normals and 9-band spherical-harmonics shading with DECA's basis constants.

Light coefficients: (B, 9, 3), one RGB triple per SH band, in the world frame (y up, +z toward
the camera). image = albedo * sum_k l_k * c_k * H_k(n).
"""
from __future__ import annotations

import math

import torch

from .rasterize import batch_rows, gather_rows

SH_CONSTANTS = (
    1.0 / math.sqrt(4 * math.pi),
    (2 * math.pi / 3) * math.sqrt(3 / (4 * math.pi)),
    (2 * math.pi / 3) * math.sqrt(3 / (4 * math.pi)),
    (2 * math.pi / 3) * math.sqrt(3 / (4 * math.pi)),
    (math.pi / 4) * 3 * math.sqrt(5 / (12 * math.pi)),
    (math.pi / 4) * 3 * math.sqrt(5 / (12 * math.pi)),
    (math.pi / 4) * 3 * math.sqrt(5 / (12 * math.pi)),
    (math.pi / 4) * (3 / 2) * math.sqrt(5 / (12 * math.pi)),
    (math.pi / 4) * (1 / 2) * math.sqrt(5 / (4 * math.pi)),
)


def sh_basis(normals: torch.Tensor) -> torch.Tensor:
    """(..., 3) unit normals -> (..., 9) basis [1, x, y, z, xy, xz, yz, x^2-y^2, 3z^2-1] * c_k."""
    x, y, z = normals.unbind(-1)
    h = torch.stack([torch.ones_like(x), x, y, z, x * y, x * z, y * z, x * x - y * y,
                     3 * z * z - 1], dim=-1)
    c = torch.tensor(SH_CONSTANTS, dtype=normals.dtype, device=normals.device)
    return h * c


def sh_shading(normals: torch.Tensor, sh: torch.Tensor) -> torch.Tensor:
    """Irradiance for normals (B, ..., 3) under lights sh (B, 9, 3) -> (B, ..., 3)."""
    basis = sh_basis(normals)
    B = sh.shape[0]
    flat = basis.reshape(B, -1, 9)
    return torch.einsum("bnk,bkc->bnc", flat, sh).reshape(*normals.shape[:-1], 3)


def sphere_directions(n: int = 256) -> torch.Tensor:
    """(n, 3) unit vectors spread evenly over the sphere (a Fibonacci lattice)."""
    k = torch.arange(n, dtype=torch.float64) + 0.5
    y = 1 - 2 * k / n
    r = torch.sqrt(1 - y * y)
    phi = k * math.pi * (3 - math.sqrt(5))
    return torch.stack([r * torch.cos(phi), y, r * torch.sin(phi)], -1).float()


def ambient_irradiance(sh: torch.Tensor) -> torch.Tensor:
    """The irradiance of an SH light's band 0 alone, the same on every normal: (..., 9, 3) -> (..., 3)."""
    return sh[..., 0, :] * SH_CONSTANTS[0]


def light_tint(sh: torch.Tensor) -> torch.Tensor:
    """The colour of an SH light's ambient, mean 1 over the channels: (..., 9, 3) -> (..., 3)."""
    ambient = ambient_irradiance(sh)
    return ambient / ambient.mean(-1, keepdim=True).clamp(min=1e-6)


def light_implausibility(sh: torch.Tensor, directions: torch.Tensor,
                         floor: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    """How far SH lights (B, 9, 3) are from light a real scene casts, in units of the ambient
    (the band-0 irradiance, per photo): -> (dark, chroma), each (B,).
    dark: mean over `directions` (n, 3) and channels of the squared irradiance below `floor` x
    the ambient (no arrangement of lights gives less than 0, and bounce light keeps any normal
    of a head in a room above a little); chroma: the squared colour of the directional bands (1-8) off
    the ambient's own colour. Without them a fit explains the skin's own colour changes (a
    beard's shadow, lips, a ruddy chin) with coloured light that turns negative on normals the
    photo did not show (teal under a chin) and leaves complementary tints in the de-lit albedo."""
    ambient = ambient_irradiance(sh)                                   # (B, 3)
    scale = ambient.mean(-1).clamp(min=1e-3)                           # (B,)
    E = sh_shading(directions.to(sh)[None].expand(sh.shape[0], -1, -1), sh)   # (B, n, 3)
    dark = torch.relu(floor - E / scale[:, None, None]).pow(2).mean((1, 2))
    tint = ambient / scale[:, None]                                    # (B, 3), mean 1
    grey = sh[:, 1:].mean(-1, keepdim=True) * tint[:, None]            # (B, 8, 3)
    chroma = ((sh[:, 1:] - grey) * SH_CONSTANTS[0] / scale[:, None, None]).pow(2).sum((1, 2))
    return dark, chroma


def default_light(batch: int = 1, dtype=torch.float32, device=None) -> torch.Tensor:
    """A soft frontal-top key light with ambient, in SH coefficients (B, 9, 3)."""
    sh = torch.zeros(batch, 9, 3, dtype=dtype, device=device)
    sh[:, 0] = 2.6      # ambient
    sh[:, 2] = 0.35     # from above (+y)
    sh[:, 3] = 0.55     # from the camera (+z)
    sh[:, 1] = 0.12     # a little from the right
    return sh


def face_normals(vertices: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """(B, V, 3), (F, 3) -> (B, F, 3) unit normals of counter-clockwise faces."""
    v0, v1, v2 = gather_rows(vertices, faces).unbind(2)
    n = torch.cross(v1 - v0, v2 - v0, dim=-1)
    return torch.nn.functional.normalize(n, dim=-1, eps=1e-12)


def vertex_normals(vertices: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """Area-weighted vertex normals (B, V, 3) of a counter-clockwise mesh: each face's cross
    product (length = 2 x area) added to its corners, corner 0 of every face first, then 1, then 2."""
    B, V, _ = vertices.shape
    v0, v1, v2 = gather_rows(vertices, faces).unbind(2)
    n = torch.cross(v1 - v0, v2 - v0, dim=-1)                       # (B, F, 3)
    corners = batch_rows(faces.t(), B, V)                            # corner-major per photo
    out = vertices.new_zeros(B * V, 3).index_add(0, corners, n.repeat(1, 3, 1).reshape(-1, 3))
    return torch.nn.functional.normalize(out.view(B, V, 3), dim=-1, eps=1e-12)
