"""How seamless a completed albedo is: the figures of issue 20's whole-head skin.

albedo maps are (S, S, 3) sRGB in [0, 1] (as the bundle stores them), coverage (S, S) in [0, 1]
(the bundle's coverage.png), masks (S, S) bool; colour differences are CIE76 Delta E in Lab.
"""
from __future__ import annotations

import cv2
import numpy as np

BAND = 1 / 256   # of the side: how far either side of the coverage boundary the band reaches


def to_lab(srgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.asarray(srgb, np.float32), cv2.COLOR_RGB2LAB)


def boundary_bands(coverage: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(inside, outside): mask texels within BAND of where coverage crosses 0.5, on its seen
    (>= 0.5) and unseen side."""
    seen = (coverage >= 0.5).astype(np.uint8)
    px = max(1.0, BAND * coverage.shape[0])
    to_unseen = cv2.distanceTransform(seen, cv2.DIST_L2, 3)          # seen texels: distance to unseen
    to_seen = cv2.distanceTransform(1 - seen, cv2.DIST_L2, 3)
    return mask & (seen > 0) & (to_unseen <= px), mask & (seen == 0) & (to_seen <= px)


def boundary_delta_e(albedo_srgb: np.ndarray, coverage: np.ndarray, mask: np.ndarray) -> float:
    """Delta E between the mean Lab colour just inside and just outside the coverage boundary
    (NaN when either band is empty)."""
    inside, outside = boundary_bands(coverage, mask)
    if not inside.any() or not outside.any():
        return float("nan")
    lab = to_lab(albedo_srgb)
    return float(np.linalg.norm(lab[inside].mean(0) - lab[outside].mean(0)))


def tone_delta_e(albedo_srgb: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """Delta E between the median Lab colours of two masks (e.g. scalp vs cheeks)."""
    lab = to_lab(albedo_srgb)
    return float(np.linalg.norm(np.median(lab[a], 0) - np.median(lab[b], 0)))


def _fine_luminance(albedo_srgb: np.ndarray, sigma: float) -> np.ndarray:
    lum = to_lab(albedo_srgb)[..., 0]
    return lum - cv2.GaussianBlur(lum, (0, 0), sigma)


def fine_energy(albedo_srgb: np.ndarray, mask: np.ndarray, sigma: float = 2.0) -> float:
    """RMS of the luminance's high-pass (minus a Gaussian blur of `sigma` texels) over mask:
    the grain of skin (pores, blotches) at the texture's scale."""
    fine = _fine_luminance(albedo_srgb, sigma)
    return float(np.sqrt((fine[mask] ** 2).mean())) if mask.any() else float("nan")


def typical_fine_energy(albedo_srgb: np.ndarray, mask: np.ndarray, sigma: float = 2.0) -> float:
    """As fine_energy, but the high-pass's robust deviation (1.4826 x its median magnitude): the
    typical texel's grain, which a few feature edges or hole rims in the mask do not set (why it
    matters on the synthetic heads: benchmarks/NOTES.md, session 49)."""
    fine = _fine_luminance(albedo_srgb, sigma)
    return float(1.4826 * np.median(np.abs(fine[mask]))) if mask.any() else float("nan")


def grain_bands(coverage: np.ndarray, mask: np.ndarray, reach: float = 1 / 32) -> tuple[np.ndarray, np.ndarray]:
    """(photographed, completed): mask texels of coverage > 0.9 and of coverage < 0.1, both within
    `reach` of the side of the boundary (coverage 0.5)."""
    seen = (coverage >= 0.5).astype(np.uint8)
    px = reach * coverage.shape[0]
    near_unseen = cv2.distanceTransform(seen, cv2.DIST_L2, 3) <= px
    near_seen = cv2.distanceTransform(1 - seen, cv2.DIST_L2, 3) <= px
    return mask & (coverage > 0.9) & near_unseen, mask & (coverage < 0.1) & near_seen


def grain_ratio(albedo_srgb: np.ndarray, coverage: np.ndarray, mask: np.ndarray, reach: float = 1 / 32,
                typical: bool = False) -> float:
    """Fine energy of the completed skin (coverage < 0.1) over that of the photographed skin
    (coverage > 0.9), both within `reach` of the side of the boundary: 1 when the completed
    skin has the photo's grain, 0 when it is flat. typical: of the typical texel
    (typical_fine_energy) instead of the RMS."""
    photo, made = grain_bands(coverage, mask, reach)
    energy = typical_fine_energy if typical else fine_energy
    return energy(albedo_srgb, made) / max(energy(albedo_srgb, photo), 1e-6)
