"""Stand-in FLAME albedo models in the two real file formats (FLAME's texture space and the
BFM conversion are licensed to each user, so tests write their own): a square texture flattened
as (S, S, 3) in B, G, R order, mean plus components; `FLAME_texture.npz` (mean, tex_dir, values
0..255) or `FLAME_albedo_from_BFM.npz` (MU, PC, values 0..1). The layout is whatever UV layout
the test's head has (the FLAME stand-in uses OpenHead's); the components are smooth colour
fields, so a face that shows part of them pins their coefficients."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

SKIN_SRGB = (0.80, 0.62, 0.52)   # RGB


def albedo_space(size: int = 256, n: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """mean (S, S, 3) and components (n, S, S, 3), RGB, sRGB-encoded units (0..1)."""
    rng = np.random.default_rng(seed)
    mean = np.empty((size, size, 3), np.float64)
    mean[:] = SKIN_SRGB
    mean *= 1 + cv2.resize(rng.normal(0, 0.03, (6, 6, 3)), (size, size), interpolation=cv2.INTER_CUBIC)
    comps = np.stack([cv2.resize(rng.normal(0, 0.05, (4, 4, 3)), (size, size), interpolation=cv2.INTER_CUBIC)
                      for _ in range(n)])
    return mean, comps


def write_albedo_standin(path: Path, kind: str = "FLAME", size: int = 256, n: int = 20, seed: int = 0) -> Path:
    mean, comps = albedo_space(size, n, seed)
    bgr_mean = mean[..., ::-1].reshape(-1)
    bgr_comps = comps[..., ::-1].reshape(n, -1).T            # (S*S*3, n)
    if kind == "FLAME":
        np.savez(path, mean=bgr_mean * 255.0, tex_dir=bgr_comps * 255.0)
    elif kind == "BFM":
        np.savez(path, MU=bgr_mean, PC=bgr_comps)
    else:
        raise ValueError(kind)
    return Path(path)
