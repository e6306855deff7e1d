"""Which of the photo's fine variation shape from shading may read as relief.

At zero displacement the SfS residual is the fine albedo, lum(A) / lum(A_smooth): everything
the coarse fit did not explain. Fine relief (pores, lines, folds) changes the shading alone: the
same factor in every channel, and only by a little. Albedo edges (brows and lashes, lip borders,
freckles, moles, makeup, stubble, the hairline) change the colour as well, or the brightness by
much more. So a texel is trusted as shading when its fine log-chromaticity and its fine
log-luminance are both small against the face's own robust spread. Distrust spreads a couple of
texels: a ridge's normal reads its neighbours, and a photo draws an edge soft over a pixel or two
(its lens, its resolution, the unwrap's resampling), a halo faint enough to pass the test that
shape from shading would otherwise read as a groove beside every brow, lash line and lip border.
The low-pass albedo itself is taken over trusted texels only, so a dark brow or hairline does not
darken the skin beside it (which SfS would otherwise explain as a slope, millimetres deep).
Measured effect: benchmarks/NOTES.md, "Static detail" and "Session 48".
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as Fn

from ..texture.fill import weighted_blur

LUMA = (0.2126, 0.7152, 0.0722)
CHROMA_SPREADS = 3.0    # trust falls to 1/e at this many robust deviations of the fine chroma
LUMA_SPREADS = 3.0      # ... and of the fine log-luminance
MIN_CHROMA_SCALE = 0.02  # floors of those scales (log units): a flat, clean map keeps its trust
MIN_LUMA_SCALE = 0.05
ROUNDS = 2              # trust <-> low-pass rounds
DISTRUST_SPREAD = 2 / 256   # how far distrust spreads, a share of the map's size (2 texels at 256, ~2.5 mm)


def _robust_scale(x: torch.Tensor, where: torch.Tensor, floor: float) -> float:
    """1.4826 x the median absolute value of x over `where` (x is already centred: a high-pass)."""
    v = x[where]
    return max(floor, float(1.4826 * v.abs().median())) if v.numel() else floor


def shading_trust(albedo: torch.Tensor, albedo_smooth: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
    """albedo, albedo_smooth (S, S, 3) linear reflectance (the unwrap's and its low-pass);
    where (S, S) bool: the texels to take the spreads from (the observed face skin).
    -> (S, S) in [0, 1]: how far the fine variation at each texel may be read as shading."""
    eps = 1e-4
    luma = torch.tensor(LUMA, dtype=albedo.dtype)
    log_a, log_s = torch.log(albedo.clamp(min=eps)), torch.log(albedo_smooth.clamp(min=eps))
    fine_lum = torch.log((albedo * luma).sum(-1).clamp(min=eps)) - torch.log((albedo_smooth * luma).sum(-1).clamp(min=eps))
    chroma = (log_a - log_a[..., 1:2]) - (log_s - log_s[..., 1:2])        # fine log(R/G), log(B/G)
    fine_chroma = chroma[..., [0, 2]].norm(dim=-1)
    sc = CHROMA_SPREADS * _robust_scale(fine_chroma, where, MIN_CHROMA_SCALE)
    sl = LUMA_SPREADS * _robust_scale(fine_lum, where, MIN_LUMA_SCALE)
    trust = torch.exp(-(fine_chroma / sc) ** 2 - (fine_lum / sl) ** 2)
    r = max(1, round(DISTRUST_SPREAD * albedo.shape[0]))
    return -Fn.max_pool2d(-trust[None, None], 2 * r + 1, stride=1, padding=r)[0, 0]   # distrust spreads r texels


@dataclass
class AlbedoSplit:
    smooth: torch.Tensor    # (S, S, 3) low-pass albedo over the trusted texels
    trust: torch.Tensor     # (S, S) in [0, 1], shading_trust against that low-pass


def split_albedo(albedo: torch.Tensor, mask: torch.Tensor, seen: torch.Tensor, sigma: float) -> AlbedoSplit:
    """albedo (S, S, 3) linear; mask (S, S) bool texels of the layout; seen (S, S) bool observed
    face skin; sigma: the low-pass scale in texels."""
    mk = mask.float()
    plain = weighted_blur(albedo, mk, sigma)   # normalised by the chart mask: borders do not darken it
    smooth = plain
    for _ in range(ROUNDS):
        trust = shading_trust(albedo, smooth, seen)
        smooth = weighted_blur(albedo, mk * trust, sigma, fallback=plain)
    return AlbedoSplit(smooth, shading_trust(albedo, smooth, seen))
