"""Adam (Kingma and Ba, 2015) with parameter groups and an optional cosine decay of the step.

Why not torch.optim: the first optimizer built in a process imports torch._dynamo (its
constructor is wrapped to keep torch.compile out), a cost every fresh `headsmith reconstruct`
would pay (measured in benchmarks/NOTES.md). The update
is the same as torch.optim.Adam's default one (no weight decay, no amsgrad); the tests check
it step by step against torch.optim.Adam and CosineAnnealingLR.
"""
from __future__ import annotations

import math

import torch


class Adam:
    """params: tensors, or groups {"params": [...], "lr": float}. With `total_steps`, every
    group's step size follows lr * (1 + cos(pi * t / total_steps)) / 2 for step t = 0, 1, ...
    (torch's CosineAnnealingLR to zero, stepped after each update)."""

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, total_steps: int | None = None):
        params = list(params)
        if params and isinstance(params[0], dict):
            groups = [dict(g) for g in params]
        else:
            groups = [{"params": params}]
        for g in groups:
            g["params"] = list(g["params"])
            g.setdefault("lr", lr)
        self.param_groups = groups
        self.betas, self.eps, self.total_steps = betas, eps, total_steps
        self.t = 0                # updates made: the schedule's clock
        self._m = {id(p): torch.zeros_like(p) for g in groups for p in g["params"]}
        self._v = {id(p): torch.zeros_like(p) for g in groups for p in g["params"]}
        self._n = {id(p): 0 for g in groups for p in g["params"]}   # updates each parameter got

    def zero_grad(self) -> None:
        for g in self.param_groups:
            for p in g["params"]:
                p.grad = None

    def decay(self) -> float:
        """The factor on every group's lr at the current step."""
        if self.total_steps is None:
            return 1.0
        return 0.5 * (1.0 + math.cos(math.pi * min(self.t, self.total_steps) / self.total_steps))

    @torch.no_grad()
    def step(self) -> None:
        b1, b2 = self.betas
        scale = self.decay()
        self.t += 1
        for g in self.param_groups:
            for p in g["params"]:
                if p.grad is None:
                    continue
                # bias correction by the parameter's own update count, as torch.optim.Adam does
                # (a parameter without a gradient in some steps is not corrected for them)
                self._n[id(p)] += 1
                n = self._n[id(p)]
                c1, c2 = 1.0 - b1 ** n, math.sqrt(1.0 - b2 ** n)
                step = g["lr"] * scale / c1
                m, v = self._m[id(p)], self._v[id(p)]
                m.lerp_(p.grad, 1.0 - b1)
                v.mul_(b2).addcmul_(p.grad, p.grad, value=1.0 - b2)
                p.addcdiv_(m, v.sqrt().div_(c2).add_(self.eps), value=-step)
