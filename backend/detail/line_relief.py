"""Which of the person residual's relief to keep: skin relief at a few millimetres is lines
(forehead lines, crow's feet, folds, lid creases), while what shape from shading makes of blotches,
make-up and photo noise is a clutter of lumps with no direction. The residual is kept where its
gradients share one orientation over a few millimetres (the structure tensor's coherence) and
faded out where they do not. Lines are coherent whatever made them, a glasses rim's remnant or a
lash line too, so the relief also fades where the fine albedo is an edge rather than shading
(albedo_edges.shading_trust). Measured effect: benchmarks/NOTES.md, "Lines, not lumps".
"""
from __future__ import annotations

import cv2
import numpy as np

WINDOW = 1 / 85      # structure tensor window: Gaussian sigma as a share of the map's size (3 texels at 256, ~4 mm)
COHERENCE = (0.25, 0.5)   # relief fades out below the first coherence and is kept in full above the second
TRUST_FULL = 0.75    # shading trust from which relief is kept in full; below it, in proportion
FADE = 1 / 256       # blur of the keep-weight and of the trust (share of the size): no hard cuts
LUMP_WINDOWS = 2.0   # the window is at least this many times the relief's finest scale (a lump
                     # as wide as the window reads as coherent as often as not)


def coherence(relief: np.ndarray, sigma: float) -> np.ndarray:
    """relief (S, S) -> (S, S) in [0, 1]: (l1 - l2) / (l1 + l2) of the gradients' structure tensor
    averaged over a Gaussian of `sigma` texels; 1 where every gradient is along one direction
    (a line), about 0.3 for isotropic clutter, 0 where the relief is flat."""
    r = relief.astype(np.float32)
    gx = cv2.Sobel(r, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(r, cv2.CV_32F, 0, 1, ksize=3)
    avg = lambda x: cv2.GaussianBlur(x, (0, 0), sigma)   # noqa: E731
    jxx, jyy, jxy = avg(gx * gx), avg(gy * gy), avg(gx * gy)
    spread = np.sqrt((jxx - jyy) ** 2 + 4 * jxy ** 2)
    return spread / np.maximum(jxx + jyy, np.float32(1e-30))


def line_weight(relief: np.ndarray, trust: np.ndarray | None = None, finest: float = 0.0) -> np.ndarray:
    """relief (S, S) metres; trust (S, S) in [0, 1] or None; finest: texels, the Gaussian sigma
    the relief was band-limited to (photo_resolution.py; 0: none) -> (S, S) float32 in [0, 1]:
    how much of the relief at each texel to keep, by its local coherence (COHERENCE ramps, over
    WINDOW or LUMP_WINDOWS x finest, the wider) times its trust up to TRUST_FULL, each smoothed
    by FADE."""
    size = relief.shape[0]
    blur = max(FADE * size, 0.5)
    lo, hi = COHERENCE
    window = max(WINDOW * size, LUMP_WINDOWS * finest)
    w = np.clip((coherence(relief, window) - lo) / (hi - lo), 0, 1).astype(np.float32)
    w = cv2.GaussianBlur(w, (0, 0), blur)
    if trust is not None:
        t = cv2.GaussianBlur(np.asarray(trust, np.float32), (0, 0), blur)
        w = w * np.clip(t / TRUST_FULL, 0, 1)
    return w


def line_relief(relief: np.ndarray, trust: np.ndarray | None = None, finest: float = 0.0) -> np.ndarray:
    """relief (S, S) metres -> the same with its directionless clutter (and, given the shading
    trust, its relief along albedo edges) faded out; finest as line_weight."""
    return (relief * line_weight(relief, trust, finest)).astype(np.float32)
