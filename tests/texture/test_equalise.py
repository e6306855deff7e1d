"""Photos with another exposure or white balance are brought to the first photo's colour before
they merge."""
import numpy as np
import torch

from headsmith.render import default_light
from headsmith.texture.equalise import photo_gains

WHITE = default_light()[0]   # its ambient is grey


def _skin(S=128, seed=0):
    """A blotchy skin albedo (S, S, 3), linear."""
    rng = np.random.default_rng(seed)
    base = torch.tensor([0.55, 0.38, 0.30])
    blotch = torch.as_tensor(rng.normal(0, 0.05, (S, S, 1)), dtype=torch.float32)
    return base * (1 + blotch)


def _halves(S=128, overlap=0.2):
    """Weights of two photos seeing the left and right part of the map, overlapping in the middle."""
    x = torch.linspace(0, 1, S)[None, :].expand(S, S)
    return (x < 0.5 + overlap / 2).float(), (x > 0.5 - overlap / 2).float()


def test_a_warmer_brighter_photo_is_brought_back():
    albedo = _skin()
    wa, wb = _halves()
    gain = torch.tensor([1.4, 1.15, 0.8])
    g = photo_gains([albedo, albedo / gain], [wa, wb], WHITE)
    assert torch.allclose(g[0], torch.ones(3))
    assert torch.allclose(g[1], gain, rtol=0.01)


def test_the_first_photo_sets_the_colour_and_a_third_follows_the_merge():
    """The third photo overlaps only the second: it is matched through it."""
    albedo = _skin(seed=1)
    S = albedo.shape[0]
    x = torch.linspace(0, 1, S)[None, :].expand(S, S)
    w = [(x < 0.4).float(), ((x > 0.3) & (x < 0.7)).float(), (x > 0.6).float()]
    shots = [albedo, albedo * torch.tensor([0.7, 0.8, 0.9]), albedo * torch.tensor([1.2, 1.0, 1.3])]
    g = photo_gains(shots, w, WHITE)
    for shot, gain in zip(shots, g):
        assert torch.allclose(shot * gain, albedo, rtol=0.01)


def test_the_first_photo_is_taken_as_lit_white():
    """The fit split a warmer second photo's tint between the two lights: the first photo's light
    came out cool, so its de-lit albedo warm. Its light's tint goes back into the albedo, and the
    second photo follows it."""
    albedo = _skin(seed=5)
    wa, wb = _halves()
    tint = torch.tensor([0.88, 0.97, 1.15])
    cool = WHITE * tint[None] / tint.mean()
    shift = tint / tint.mean()
    g = photo_gains([albedo / shift, albedo / shift], [wa, wb], cool)
    assert torch.allclose(g[0], shift, rtol=1e-4)
    assert torch.allclose(albedo / shift * g[1], albedo, rtol=0.01)


def test_too_little_overlap_keeps_the_photo_as_it_is():
    albedo = _skin(seed=2)
    S = albedo.shape[0]
    x = torch.linspace(0, 1, S)[None, :].expand(S, S)
    g = photo_gains([albedo, albedo * 2], [(x < 0.5).float(), (x > 0.5).float()], WHITE)
    assert torch.allclose(g[1], torch.ones(3))


def test_clipped_texels_do_not_count():
    """A noisy photo blown on 45 % of the shared texels (every channel at 1) still gets its gain
    within 2 % (counted, the blown texels pull the median off by more)."""
    albedo = _skin(seed=3)
    wa, wb = _halves(overlap=0.4)
    noise = torch.as_tensor(np.random.default_rng(4).normal(0, 0.03, albedo.shape), dtype=torch.float32)
    second = albedo / torch.tensor([1.3, 1.1, 0.9]) * (1 + noise)
    second[: int(0.45 * albedo.shape[0])] = 1.0
    g = photo_gains([albedo, second], [wa, wb], WHITE)
    assert torch.allclose(g[1], torch.tensor([1.3, 1.1, 0.9]), rtol=0.02)
