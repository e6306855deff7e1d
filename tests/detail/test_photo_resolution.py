"""Shape from shading held to what the photo resolves: the photo's pixels per texel follow the
camera and the crop, and the band limit takes pixel-scale noise out of the person residual while
ridges the photo resolves come back."""
import math

import numpy as np
import pytest
import torch

from headsmith.detail.photo_resolution import GRID_SIGMA, photo_pixels_per_texel, resolution_sigma
from headsmith.render import default_light

from tests.detail.head_data import face_texels, side_lit_ridges


def test_resolution_sigma_is_a_photo_pixel_less_the_texel_grid():
    assert resolution_sigma(2.0) == 0.0                      # the map is no finer than the photo
    assert resolution_sigma(0.5) == pytest.approx(math.sqrt(4.0 - GRID_SIGMA ** 2))
    assert resolution_sigma(0.75) == pytest.approx(math.sqrt((1 / 0.75) ** 2 - GRID_SIGMA ** 2))
    assert resolution_sigma(float("inf")) == 0.0 and resolution_sigma(float("nan")) == 0.0
    coarse_to_fine = [resolution_sigma(p) for p in (0.3, 0.5, 0.75, 1.0, 1.5)]
    assert coarse_to_fine == sorted(coarse_to_fine, reverse=True)


def test_pixels_per_texel_follow_the_camera_and_the_crop(openhead):
    """Twice the camera's scale draws the face over twice the crop pixels; a crop enlarged twice
    from the photo holds the same photo pixels."""
    v = openhead().vertices
    seen = np.ones((256, 256), np.float32)

    def ppt(scale, enlarged):
        return photo_pixels_per_texel(openhead, v, torch.tensor([[scale, 0.0, 0.0]]), 512,
                                      np.array([[enlarged, 0.0, 0.0], [0.0, enlarged, 0.0]]), seen, 256)

    base = ppt(5.0, 1.0)
    assert ppt(10.0, 1.0) == pytest.approx(2 * base, rel=1e-4)
    assert ppt(5.0, 2.0) == pytest.approx(base / 2, rel=1e-4)
    # a head 5 / 2 x 512 = 1280 px per metre across: the face's texels at 256 are a few mm wide
    assert 0.8 < base < 3.0, base
    nothing = photo_pixels_per_texel(openhead, v, torch.tensor([[5.0, 0.0, 0.0]]), 512, np.eye(2, 3),
                                     np.zeros((256, 256), np.float32), 256)
    assert nothing == float("inf") and resolution_sigma(nothing) == 0.0


@pytest.fixture(scope="module")
def decoder(openhead):
    from headsmith.wrinkles.texture_decoder import load_openhead_decoder

    return load_openhead_decoder(n_expression=openhead.n_expression)


def _residual(openhead, net, v, light, albedo, observed, photo_sigma):
    from headsmith.detail.person import fit_person_detail

    return fit_person_detail(openhead, net, v, v, light, np.asarray(albedo, np.float32), np.asarray(observed, np.float32),
                             torch.zeros(1, openhead.n_expression), torch.zeros(1, 3), size=256, texture_size=256,
                             iterations=100, photo_sigma=photo_sigma).residual


def test_band_limit_takes_pixel_noise_out_of_the_residual(openhead, decoder):
    """A smooth head seen through a photo of 0.5 pixels per texel: 2 x 2 texel blocks of +-4 %
    noise (JPEG blocks, sensor noise). Held to the photo, the residual's slope falls to under
    half (measured: 31.0 -> 9.9 um per texel)."""
    m, S = openhead, 256
    face, sel = face_texels(m, S)
    blocks = np.exp(np.random.default_rng(0).normal(0, 0.04, (S // 2, S // 2)))
    albedo = 0.5 * np.kron(blocks, np.ones((2, 2)))[..., None] * np.ones(3)
    v = m().vertices

    def slope(photo_sigma):
        r = _residual(m, decoder, v, default_light(), albedo, face.float().numpy(), photo_sigma)
        gy, gx = np.gradient(r)
        return np.sqrt((gx[sel] ** 2 + gy[sel] ** 2).mean())

    free, held = slope(0.0), slope(resolution_sigma(0.5))
    assert free > 5e-6, free                   # the noise did make relief to take out
    assert held < 0.5 * free, (held, free)


def test_band_limit_keeps_ridges_the_photo_resolves(openhead, decoder):
    """Ridges 1 cm apart, +-0.3 mm, held to a photo of 0.75 pixels per texel (the demo's
    astronaut): in place and at most of their height (measured: correlation 0.77, RMS 52 % of
    the truth's; 0.77 and 55 % without the limit)."""
    v, light, albedo, face, sel, D_true = side_lit_ridges(openhead, 256, 0.01, 0.0003)
    res = _residual(openhead, decoder, v, light, albedo.numpy(), face.float().numpy(), resolution_sigma(0.75))
    truth = D_true.numpy()
    assert np.corrcoef(res[sel], truth[sel])[0, 1] > 0.75
    assert np.sqrt((res[sel] ** 2).mean()) > 0.45 * np.sqrt((truth[sel] ** 2).mean())
