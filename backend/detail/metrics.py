"""How static detail relates to the albedo beside it: the figures of issue 20's "relief that is
skin, not albedo". All maps are UV maps of one size, (S, S), row 0 at v = 1."""
from __future__ import annotations

import numpy as np


def gradient_magnitude(x: np.ndarray) -> np.ndarray:
    """|grad x| per texel, in x's units per texel (central differences)."""
    gy, gx = np.gradient(np.asarray(x, np.float64))
    return np.hypot(gx, gy)


def relief_albedo_correlation(displacement: np.ndarray, albedo_luminance: np.ndarray, mask: np.ndarray) -> float:
    """Pearson correlation between |grad displacement| and |grad albedo luminance| over the
    texels of `mask` (eroded by one texel so chart borders do not count): near 1 when the relief
    copies the albedo's edges (brows, lip borders, freckles read as ridges), near 0 when not."""
    from scipy.ndimage import binary_erosion

    inner = binary_erosion(mask, iterations=1)
    gd, ga = gradient_magnitude(displacement)[inner], gradient_magnitude(albedo_luminance)[inner]
    if gd.std() == 0 or ga.std() == 0:
        return 0.0
    return float(np.corrcoef(gd, ga)[0, 1])


def share_at_bound(residual: np.ndarray, bound: float, mask: np.ndarray, within: float = 0.98) -> float:
    """The share of `mask` texels whose |residual| is at `within` x bound or more: relief the fit
    wanted beyond what it may hold."""
    r = np.abs(np.asarray(residual))[mask]
    return float((r >= within * bound).mean()) if r.size else 0.0


MID_BAND_SIGMAS = (1.5 / 256, 5 / 256)   # the band's Gaussian sigmas, shares of the map's size (~2-6 mm)


def mid_band_rms(relief: np.ndarray, mask: np.ndarray) -> float:
    """RMS over `mask` of the relief's band between MID_BAND_SIGMAS (a difference of Gaussians,
    about 3-10 mm across on the face), in the relief's units: the lumps and hatching shape from
    shading makes of blotches, noise and misfit live there; pores are finer, the face's shape
    broader. Relief at one size (S, S); the blur runs over the whole map, the RMS over `mask`."""
    import cv2

    r = np.asarray(relief, np.float32)
    lo, hi = (s * r.shape[0] for s in MID_BAND_SIGMAS)
    band = cv2.GaussianBlur(r, (0, 0), lo) - cv2.GaussianBlur(r, (0, 0), hi)
    return float(np.sqrt((band[mask].astype(np.float64) ** 2).mean())) if mask.any() else 0.0
