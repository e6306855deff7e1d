"""The z-buffer's per-pixel depth test compiled for the CPU (numba).

The torch scan in rasterize.py lists every (face, pixel) candidate as tensors, which on a CPU
spends most of a render in allocation; this loop does the same arithmetic, in the same order and
float64, pixel by pixel, so both give the same face per pixel (tests/render/test_rasterize.py
holds them to it). Compiled once, then cached on disk by numba (first call in a new install ~1 s).
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def scan_faces(x, y, z, area, valid, x0, x1, y0, y1, zmin, zscale, depth_levels, face_bits,
               n_faces, height, width, best):
    """x, y, z, area: (B*F, 3) / (B*F,) float64 screen corners and signed areas; valid (B*F,)
    bool; x0..y1 (B*F,) int64 pixel bounding boxes (inclusive); best (B*H*W,) int64, lowered in
    place to min(quantised depth << face_bits | face)."""
    for c in range(x.shape[0]):
        if not valid[c]:
            continue
        b = c // n_faces
        f = c - b * n_faces
        ax, ay, bx, by, cx_, cy_ = x[c, 0], y[c, 0], x[c, 1], y[c, 1], x[c, 2], y[c, 2]
        a = area[c]
        for py in range(y0[c], y1[c] + 1):
            cy = py + 0.5
            for px in range(x0[c], x1[c] + 1):
                cx = px + 0.5
                w0 = ((cx_ - bx) * (cy - by) - (cy_ - by) * (cx - bx)) / a
                w1 = ((ax - cx_) * (cy - cy_) - (ay - cy_) * (cx - cx_)) / a
                w2 = 1.0 - w0 - w1
                if w0 < 0 or w1 < 0 or w2 < 0:
                    continue
                depth = w0 * z[c, 0] + w1 * z[c, 1] + w2 * z[c, 2]
                q = (depth - zmin) * zscale
                q = min(max(q, 0.0), depth_levels - 1.0)
                key = (np.int64(q) << face_bits) | f
                pix = (b * height + py) * width + px
                if key < best[pix]:
                    best[pix] = key
