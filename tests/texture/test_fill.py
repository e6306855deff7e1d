import torch

from headsmith.texture import push_pull_fill


def test_push_pull_keeps_known_values_and_fills_holes_smoothly():
    H = W = 64
    ys, xs = torch.meshgrid(torch.arange(H, dtype=torch.float32), torch.arange(W, dtype=torch.float32), indexing="ij")
    ramp = torch.stack([xs / W, ys / H, torch.full_like(xs, 0.5)], -1)
    w = torch.ones(H, W)
    w[20:40, 20:40] = 0           # a hole
    w[:, 60:] = 0                 # and a border band
    out = push_pull_fill(ramp * w[..., None], w)
    known = w > 0
    assert torch.allclose(out[known], ramp[known], atol=1e-5)
    assert torch.isfinite(out).all()
    # inside the hole the fill stays between the surrounding values (no overshoot, no black)
    hole = out[20:40, 20:40]
    assert hole[..., 0].min() > 0.25 and hole[..., 0].max() < 0.7
    assert (hole[..., 2] - 0.5).abs().max() < 1e-5
    # neighbouring filled texels differ little: no hard edges
    assert (out[20:40, 21:40] - out[20:40, 20:39]).abs().max() < 0.08


def test_membrane_fill_meets_the_known_values_without_a_step():
    """A ramp known on the left half: the membrane continues it from its last value (the
    smoothest surface through it); push-pull's coarse averages leave a step there."""
    from headsmith.texture.fill import membrane_fill

    n = 128
    ramp = torch.linspace(0, 1, n)[None, :, None].expand(n, n, 1).clone()
    weight = torch.zeros(n, n)
    weight[:, : n // 2] = 1
    edge = float(ramp[0, n // 2 - 1, 0])
    membrane = membrane_fill(ramp, weight)
    pushed = push_pull_fill(ramp, weight)
    assert torch.allclose(membrane[:, : n // 2], ramp[:, : n // 2])
    assert abs(float(membrane[:, n // 2, 0].mean()) - edge) < 0.01
    assert abs(float(pushed[:, n // 2, 0].mean()) - edge) > 0.05
