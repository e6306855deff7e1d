"""De-lighting past the SH light: what a strong key light leaves in an unwrapped photo.

The fit's light is second-order spherical harmonics, which cannot hold a hard key light's cast
shadows (the nose's on the cheek, the eye sockets), its dark side's falloff or a coloured light
from one side; divided by the SH shading, the photo keeps them as a darker, tinted half face.
Faces are close to left/right symmetric in reflectance at the scale of such shading (a few
centimetres) and lights are not, so the broad part of the unwrapped colour that differs between
a texel and its mirror is taken as light: each side moves half way towards the other, in log
colour per channel, where both sides were seen on plain skin. Smaller asymmetric marks (a mole,
freckles, a scar) are finer than the low-pass and stay.
"""
from __future__ import annotations

import torch
import torch.nn.functional as Fn

from ..uvspace.atlas import UVSupport
from .fill import gaussian_blur, weighted_blur

WORK_SIZE = 256            # texels per side of the low-pass (the shading it removes is broad)
SYMMETRY_SIGMA = 4.0       # Gaussian sigma at WORK_SIZE, texels (~1.5 cm on the face chart)
FULL_TRUST = 0.3           # blurred plain-skin weight from which a side counts as fully seen


def _shrink(x: torch.Tensor, size: int) -> torch.Tensor:
    """(S, S, C) -> (size, size, C) by area."""
    return Fn.adaptive_avg_pool2d(x.permute(2, 0, 1)[None], size)[0].permute(1, 2, 0)


def symmetric_light_factor(albedo: torch.Tensor, weight: torch.Tensor, sup: UVSupport,
                           visible: torch.Tensor) -> torch.Tensor:
    """albedo (S, S, 3) linear, one photo divided by its SH shading; weight (S, S) in [0, 1]: how
    well the photo saw each texel of plain skin (0 off it, and where it shows no skin); visible
    (S, S): the texels the photo saw at all. -> (S, S, 3) factor to multiply the albedo by (1
    where a texel or its mirror was not seen)."""
    S, W = albedo.shape[0], WORK_SIZE
    w = _shrink(weight[..., None], W)
    shown = _shrink(visible.float()[..., None], W) > 0
    a = _shrink(albedo * weight[..., None], W) / w.clamp(min=1e-6)
    log_a = torch.log(a.clamp(min=1e-3))
    low = weighted_blur(log_a, w[..., 0], SYMMETRY_SIGMA, fallback=log_a)
    seen = gaussian_blur(w, SYMMETRY_SIGMA)
    stack = torch.cat([low, seen], -1).permute(2, 0, 1)[None]
    grid = Fn.interpolate(sup.mirror_grid.permute(0, 3, 1, 2), size=(W, W), mode="nearest").permute(0, 2, 3, 1)
    mirror = Fn.grid_sample(stack, grid, mode="bilinear", padding_mode="border", align_corners=False)[0]
    mirror = mirror.permute(1, 2, 0)
    has = Fn.interpolate(sup.has_mirror[None, None].float(), size=(W, W), mode="nearest")[0, 0]
    # a texel the photo did not see keeps 1: the blur reaches it from neighbouring charts
    trust = (torch.minimum(seen, mirror[..., 3:]) / FULL_TRUST).clamp(0, 1) * has[..., None] * shown
    half_gap = (low - mirror[..., :3]) / 2
    factor = torch.exp(-half_gap * trust)
    return Fn.interpolate(factor.permute(2, 0, 1)[None], size=(S, S), mode="bilinear",
                          align_corners=False)[0].permute(1, 2, 0)
