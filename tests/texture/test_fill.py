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


def test_the_fast_blur_is_the_same_blur():
    """gaussian_blur's OpenCV path (CPU, no autograd) against its torch path (taken when the
    input needs a gradient): the same kernel and replicated borders, any channel count."""
    from headsmith.texture.fill import gaussian_blur

    g = torch.Generator().manual_seed(0)
    for shape, sigma in (((96, 64, 1), 1.5), ((40, 50, 6), 3.0), ((32, 32, 3), 0.2)):
        x = torch.rand(*shape, generator=g)
        fast = gaussian_blur(x, sigma)
        slow = gaussian_blur(x.clone().requires_grad_(), sigma).detach()
        assert fast.shape == slow.shape
        assert torch.allclose(fast, slow, atol=1e-6)
    step = torch.zeros(16, 16, 1)
    step[:, 8:] = 1
    out = gaussian_blur(step, 2.0)
    assert float(out[0, 0]) == 0 and float(out[0, -1]) == 1         # replicated borders: no darkening
    assert 0.4 < float(out[0, 7]) < 0.5 < float(out[0, 8]) < 0.6
