"""Hole filling and filtering for UV maps: a push-pull pyramid that extends valid texels smoothly
into everything else (no holes, no hard edges, and padding past chart borders for mipmapping),
a membrane fill that meets the known texels without a step, and (weighted) Gaussian blurs."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as Fn


def push_pull_fill(values: torch.Tensor, weight: torch.Tensor, levels: int = 12) -> torch.Tensor:
    """values (H, W, C), weight (H, W) in [0, 1] -> (H, W, C) defined everywhere.

    Weighted averages are pushed down a pyramid and pulled back up; at each level, texels with
    little weight take the coarser estimate."""
    return _coarse_to_fine(values, weight, levels, sweeps=0)


def membrane_fill(values: torch.Tensor, weight: torch.Tensor, iterations: int = 24, levels: int = 12) -> torch.Tensor:
    """values (H, W, C), weight (H, W) in [0, 1] -> (H, W, C): where weight is 1 the values, and
    elsewhere the smoothest surface through them (Laplace's equation: the push-pull estimate at
    each level refined by Jacobi sweeps, x <- w * value + (1 - w) * mean of the 4 neighbours).
    Unlike push_pull_fill, whose unknown texels take coarse averages, it meets the known values
    at their edge with no step, the gradient-domain (membrane) completion of a smooth field."""
    return _coarse_to_fine(values, weight, levels, sweeps=iterations)


def _coarse_to_fine(values: torch.Tensor, weight: torch.Tensor, levels: int, sweeps: int) -> torch.Tensor:
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
    kernel = torch.tensor([[0.0, 0.25, 0.0], [0.25, 0.0, 0.25], [0.0, 0.25, 0.0]], dtype=values.dtype)
    kernel = kernel.view(1, 1, 3, 3).expand(values.shape[-1], 1, 3, 3)
    for v_l, w_l in reversed(stack[:-1]):
        up = Fn.interpolate(est, size=v_l.shape[-2:], mode="bilinear", align_corners=False)
        own = v_l / w_l.clamp(min=1e-8)
        a = w_l.clamp(0, 1)
        kept, free = a * own, 1 - a
        est = kept + free * up
        for _ in range(sweeps):
            neighbours = Fn.conv2d(Fn.pad(est, (1, 1, 1, 1), mode="replicate"), kernel, groups=est.shape[1])
            est = neighbours.mul_(free).add_(kept)
    return est[0].permute(1, 2, 0)


def dilate_mask(mask: np.ndarray, pixels: int) -> np.ndarray:
    import cv2

    k = np.ones((2 * pixels + 1, 2 * pixels + 1), np.uint8)
    return cv2.dilate(mask.astype(np.uint8), k) > 0


def area_shrink(x: torch.Tensor, size: int) -> torch.Tensor:
    """(S, S, C) -> (size, size, C) by area (the mean over each block)."""
    return Fn.adaptive_avg_pool2d(x.permute(2, 0, 1)[None], size)[0].permute(1, 2, 0)


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur of (H, W, C) over 3 sigma either way, borders replicated. On the CPU without
    autograd, OpenCV's separable filter (the same kernel; about 10x faster than torch's conv2d
    on one channel at 1024)."""
    r = int(3 * sigma)
    if x.device.type == "cpu" and not x.requires_grad and x.dtype == torch.float32:
        return _cv2_blur(x, r, sigma)
    return _shifted_sum_blur(x, r, sigma)


def _shifted_sum_blur(x: torch.Tensor, r: int, sigma: float) -> torch.Tensor:
    """gaussian_blur's autograd / device path: each axis a weighted sum of 2r + 1 shifted copies
    of the padded map (on the CPU about 8x faster, forward and backward, than a grouped conv2d of
    one channel at 256 x 256, which falls on a slow kernel)."""
    k = torch.exp(-torch.arange(-r, r + 1, dtype=x.dtype, device=x.device) ** 2 / (2 * sigma ** 2))
    k = k / k.sum()
    H, W = x.shape[:2]
    p = Fn.pad(x.permute(2, 0, 1)[None], (r, r, r, r), mode="replicate")[0]     # (C, H + 2r, W + 2r)
    y = sum(k[i] * p[:, i:i + H, :] for i in range(2 * r + 1))
    y = sum(k[i] * y[:, :, i:i + W] for i in range(2 * r + 1))
    return y.permute(1, 2, 0)


def _cv2_blur(x: torch.Tensor, r: int, sigma: float) -> torch.Tensor:
    """gaussian_blur's CPU path: (H, W, C) float32, up to 4 channels per OpenCV call."""
    import cv2

    a = x.contiguous().numpy()
    parts = [cv2.GaussianBlur(np.ascontiguousarray(a[..., c:c + 4]), (2 * r + 1, 2 * r + 1), sigma, sigma,
                              borderType=cv2.BORDER_REPLICATE) for c in range(0, a.shape[-1], 4)]
    return torch.from_numpy(np.concatenate([p.reshape(a.shape[:2] + (-1,)) for p in parts], -1))


def weighted_blur(x: torch.Tensor, weight: torch.Tensor, sigma: float, fallback: torch.Tensor | None = None,
                  min_weight: float = 0.05) -> torch.Tensor:
    """Normalised convolution of (H, W, C) by (H, W) weights; `fallback` where the blurred weight
    is under min_weight (nothing trusted nearby)."""
    w = weight[..., None]
    num, den = gaussian_blur(x * w, sigma), gaussian_blur(w, sigma)
    out = num / den.clamp(min=1e-6)
    return out if fallback is None else torch.where(den > min_weight, out, fallback)
