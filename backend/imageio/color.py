"""sRGB <-> linear light. Fitting and de-lighting work in linear light; PNGs are sRGB."""
from __future__ import annotations

import numpy as np
import torch


def srgb_to_linear(x):
    """x in [0, 1] (numpy or torch) -> linear."""
    if isinstance(x, torch.Tensor):
        return torch.where(x <= 0.04045, x / 12.92, ((x.clamp(min=0) + 0.055) / 1.055) ** 2.4)
    return np.where(x <= 0.04045, x / 12.92, ((np.clip(x, 0, None) + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x):
    if isinstance(x, torch.Tensor):
        x = x.clamp(0, 1)
        return torch.where(x <= 0.0031308, x * 12.92, 1.055 * x ** (1 / 2.4) - 0.055)
    x = np.clip(x, 0, 1)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * x ** (1 / 2.4) - 0.055)


def to_uint8(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return (np.clip(x, 0, 1) * 255 + 0.5).astype(np.uint8)
