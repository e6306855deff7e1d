"""Reconstruction error measures used by tests and benchmarks."""
from __future__ import annotations

import numpy as np


def similarity_align(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Umeyama: the similarity transform (scale, rotation, translation) of src (N, 3) that best
    fits dst (N, 3) in least squares, applied to src."""
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    ms, md = src.mean(0), dst.mean(0)
    a, b = src - ms, dst - md
    U, S, Vt = np.linalg.svd(b.T @ a / len(src))
    d = np.sign(np.linalg.det(U @ Vt))
    D = np.diag([1.0, 1.0, d])
    R = U @ D @ Vt
    s = np.trace(np.diag(S) @ D) / (a ** 2).sum(1).mean()
    return s * a @ R.T + md


def aligned_vertex_error(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per-vertex distance (same units as the inputs) after similarity alignment of pred to truth."""
    return np.linalg.norm(similarity_align(pred, truth) - np.asarray(truth, np.float64), axis=1)
