"""Pores drawn at the texture's own size.

OpenHead's detail decoder holds its static micro-detail as a rest term, pore strength(code) x a
learned 256^2 pore texture. A texel at 256 is 1.6 x 2.3 mm on the forehead, so sharpened up to a
1024 texture those "pores" become cells of 2-4 mm: an orange peel in close-ups, where skin's
pores are ~0.1-0.2 mm wide and 0.5-1 mm apart. The high-resolution maps therefore leave the
coarse rest term out and draw, in its place and at its local strength, a fixed fine pore
texture made at PORE_SOURCE texels (0.4-0.6 mm each on the forehead). Every map of one person
(the static map, each key map, the live map) gets the same pores, so their differences, the
wrinkles, carry none. Figures: benchmarks/NOTES.md.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

PORE_SOURCE = 1024    # texels per side the pore texture is drawn at (then resized to the map's)
PORE_CELL = 1.0       # sigma (texels at PORE_SOURCE) of the blur taken out: what stays is ~1-2 texels
PORE_HEIGHT = 0.5     # the fine pores' RMS height over the coarse rest term's: finer relief shades
                      # more steeply, so the same height would read as pitted
STRENGTH_SIGMA = 2.0  # texels of the rest term's map over which its local strength is measured
PORE_SEED = 7


@lru_cache(maxsize=4)
def unit_pores(size: int) -> np.ndarray:
    """(size, size) float32, unit RMS: white noise at PORE_SOURCE less its PORE_CELL blur, resized
    to `size` (the pores keep their size on the skin whatever the map's resolution)."""
    import cv2

    noise = np.random.default_rng(PORE_SEED).normal(0, 1, (PORE_SOURCE, PORE_SOURCE)).astype(np.float32)
    noise -= cv2.GaussianBlur(noise, (0, 0), PORE_CELL)
    if size != PORE_SOURCE:
        inter = cv2.INTER_AREA if size < PORE_SOURCE else cv2.INTER_CUBIC
        noise = cv2.resize(noise, (size, size), interpolation=inter)
    out = noise / max(float(noise.std()), 1e-12)
    out.setflags(write=False)
    return out


def fine_pores(rest: np.ndarray, size: int) -> np.ndarray:
    """rest (S, S) metres: a decoder's rest term (its pores at the decoder's resolution) -> (size,
    size) float32 metres: fine pores whose local RMS is PORE_HEIGHT x the rest term's."""
    import cv2

    rest = np.asarray(rest, np.float32)
    strength = np.sqrt(np.maximum(cv2.GaussianBlur(rest * rest, (0, 0), STRENGTH_SIGMA), 0.0))
    strength = cv2.resize(strength, (size, size), interpolation=cv2.INTER_LINEAR)
    return PORE_HEIGHT * strength * unit_pores(size)
