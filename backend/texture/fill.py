"""Hole filling for UV maps: a push-pull pyramid that extends valid texels smoothly into
everything else (no holes, no hard edges, and padding past chart borders for mipmapping)."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as Fn


def push_pull_fill(values: torch.Tensor, weight: torch.Tensor, levels: int = 12) -> torch.Tensor:
    """values (H, W, C), weight (H, W) in [0, 1] -> (H, W, C) defined everywhere.

    Weighted averages are pushed down a pyramid and pulled back up; at each level, texels with
    little weight take the coarser estimate."""
    v = (values * weight[..., None]).permute(2, 0, 1)[None]
    w = weight[None, None]
    stack = []
    for _ in range(levels):
        stack.append((v, w))
        if min(v.shape[-2:]) <= 2:
            break
        v = Fn.avg_pool2d(v, 2, ceil_mode=True)
        w = Fn.avg_pool2d(w, 2, ceil_mode=True)
    est = v / w.clamp(min=1e-8)
    for v_l, w_l in reversed(stack[:-1]):
        up = Fn.interpolate(est, size=v_l.shape[-2:], mode="bilinear", align_corners=False)
        own = v_l / w_l.clamp(min=1e-8)
        a = w_l.clamp(0, 1)
        est = a * own + (1 - a) * up
    return est[0].permute(1, 2, 0)


def dilate_mask(mask: np.ndarray, pixels: int) -> np.ndarray:
    import cv2

    k = np.ones((2 * pixels + 1, 2 * pixels + 1), np.uint8)
    return cv2.dilate(mask.astype(np.uint8), k) > 0
