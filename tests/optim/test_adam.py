import math

import torch

from headsmith.optim import Adam


def _problem(seed: int):
    """A small non-quadratic fit with two parameter groups (different step sizes)."""
    g = torch.Generator().manual_seed(seed)
    A = torch.randn(20, 6, generator=g, dtype=torch.float64)
    b = torch.randn(20, generator=g, dtype=torch.float64)
    x = torch.randn(4, generator=g, dtype=torch.float64)
    y = torch.randn(2, generator=g, dtype=torch.float64)

    def loss(x, y):
        r = A @ torch.cat([x, y]) - b
        return torch.sqrt(r * r + 0.1).sum() + (x ** 4).sum()

    return x, y, loss


def test_steps_match_torch_adam_with_groups_and_cosine_decay():
    """Same iterates as torch.optim.Adam + CosineAnnealingLR(eta_min=0), step by step, for
    grouped parameters; and without a schedule, as plain torch.optim.Adam."""
    for total in (25, None):
        x0, y0, loss = _problem(0)
        xa, ya = x0.clone().requires_grad_(True), y0.clone().requires_grad_(True)
        xb, yb = x0.clone().requires_grad_(True), y0.clone().requires_grad_(True)
        ours = Adam([{"params": [xa], "lr": 0.05}, {"params": [ya], "lr": 0.2}], total_steps=total)
        ref = torch.optim.Adam([{"params": [xb], "lr": 0.05}, {"params": [yb], "lr": 0.2}])
        sched = None if total is None else torch.optim.lr_scheduler.CosineAnnealingLR(ref, total, eta_min=0.0)
        for _ in range(25):
            for opt, (x, y) in ((ours, (xa, ya)), (ref, (xb, yb))):
                opt.zero_grad()
                loss(x, y).backward()
                opt.step()
            if sched is not None:
                sched.step()
            assert torch.allclose(xa, xb, atol=1e-12, rtol=0) and torch.allclose(ya, yb, atol=1e-12, rtol=0)
        assert (xa - x0).abs().max() > 0.1       # it moved


def test_cosine_decay_reaches_zero_and_a_missing_gradient_is_skipped():
    x = torch.ones(3, requires_grad=True)
    idle = torch.ones(2, requires_grad=True)
    opt = Adam([x, idle], lr=0.1, total_steps=4)
    factors = []
    for _ in range(4):
        factors.append(opt.decay())
        opt.zero_grad()
        (x ** 2).sum().backward()
        opt.step()
    assert [round(f, 12) for f in factors] == [round(0.5 * (1 + math.cos(math.pi * k / 4)), 12) for k in range(4)]
    assert opt.decay() == 0.0
    assert torch.equal(idle, torch.ones(2))
    # Adam's first step moves each coordinate by lr (the normalised gradient is 1)
    y = torch.tensor([3.0, -5.0], requires_grad=True)
    o = Adam([y], lr=0.1)
    (y ** 2).sum().backward()
    o.step()
    assert torch.allclose(y.detach(), torch.tensor([2.9, -4.9]), atol=1e-6)


def test_a_parameter_that_joins_late_is_corrected_by_its_own_update_count():
    """torch.optim.Adam counts updates per parameter: one that has no gradient for the first
    steps starts its bias correction when it first gets one. Same iterates as torch's."""
    x0, y0, loss = _problem(1)
    xa, ya = x0.clone().requires_grad_(True), y0.clone().requires_grad_(True)
    xb, yb = x0.clone().requires_grad_(True), y0.clone().requires_grad_(True)
    ours = Adam([xa, ya], lr=0.05)
    ref = torch.optim.Adam([xb, yb], lr=0.05)
    for k in range(12):
        for opt, (x, y) in ((ours, (xa, ya)), (ref, (xb, yb))):
            opt.zero_grad()
            # y gets no gradient in the first 5 steps (held fixed, as a detached input)
            loss(x, y if k >= 5 else y.detach()).backward()
            opt.step()
        assert torch.allclose(xa, xb, atol=1e-12, rtol=0) and torch.allclose(ya, yb, atol=1e-12, rtol=0)
    assert (ya - y0).abs().max() > 0.1       # y moved once it joined
