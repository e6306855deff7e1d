"""The orthographic camera (s, tx, ty) that best maps a head's landmarks onto detected ones, in
closed form: det = s * (x + t), linear least squares in (s, s * tx, s * ty). Both of the fit's
starts use it (the yaw search on the mean head, the learned network's guess)."""
from __future__ import annotations

import torch


def similarity_camera(model_xy: torch.Tensor, det: torch.Tensor,
                      weights: torch.Tensor | None = None) -> tuple[torch.Tensor, float]:
    """model_xy, det (N, 2) in NDC; weights (N,) or None. -> ((3,) float64 [s, tx, ty], the mean
    squared (weighted) residual)."""
    L, d = model_xy.double().cpu(), det.double().cpu()
    n = L.shape[0]
    A = torch.zeros(2 * n, 3, dtype=torch.float64)
    A[:n, 0], A[:n, 1] = L[:, 0], 1
    A[n:, 0], A[n:, 2] = L[:, 1], 1
    b = torch.cat([d[:, 0], d[:, 1]])
    if weights is not None:
        sw = weights.double().cpu().sqrt().repeat(2)
        A, b = A * sw[:, None], b * sw
    sol = torch.linalg.lstsq(A, b[:, None]).solution[:, 0]
    err = float(((A @ sol - b) ** 2).mean())
    s = sol[0]
    return torch.stack([s, sol[1] / s, sol[2] / s]), err
