"""OpenHead's pores are drawn at the texture's size, the same in every map of a person."""
import numpy as np
import pytest

from headsmith.wrinkles.decoder import high_res_relief, sharpen_upsample
from headsmith.wrinkles.pores import PORE_HEIGHT, unit_pores


@pytest.fixture(scope="module")
def rest(openhead):
    """The shipped decoder's map at rest for the person prior's code: its pores, (256, 256) metres."""
    from headsmith.detail.person import PERSON_PRIOR
    from headsmith.wrinkles.sources import openhead_decoder
    from headsmith.wrinkles.texture_decoder import CODE_DIM

    decoder = openhead_decoder(openhead.n_expression)
    assert decoder.rest_is_pores
    code = np.zeros(CODE_DIM, np.float32)
    code[:len(PERSON_PRIOR)] = PERSON_PRIOR
    return decoder.rest(code)


def _inner_support(rest: np.ndarray, size: int) -> np.ndarray:
    import cv2

    sup = cv2.resize((np.abs(rest) > 0).astype(np.uint8), (size, size), interpolation=cv2.INTER_NEAREST)
    return cv2.erode(sup, np.ones((9, 9), np.uint8)) > 0


def _correlation_at(x: np.ndarray, where: np.ndarray, lag: int) -> float:
    """Correlation of x with itself `lag` texels along a row, over `where`."""
    a, b = x[:, :-lag], x[:, lag:]
    s = where[:, :-lag] & where[:, lag:]
    a, b = a[s] - a[s].mean(), b[s] - b[s].mean()
    return float((a * b).mean() / np.sqrt((a * a).mean() * (b * b).mean()))


def test_pores_are_finer_than_the_decoders_texels(rest):
    """Sharpened up from 256, the pore texture's texels are cells of about 4 texels at 1024
    (correlation 0.64 two texels apart); drawn at 1024 they are about a texel (~0.5 mm)."""
    sup = _inner_support(rest, 1024)
    coarse = sharpen_upsample(rest[None], 1024)[0]
    fine = high_res_relief(rest[None], 1024, rest)[0]
    assert _correlation_at(coarse, sup, 2) > 0.5
    assert abs(_correlation_at(fine, sup, 2)) < 0.1
    rms = np.sqrt((rest[np.abs(rest) > 0] ** 2).mean())
    assert fine[sup].std() == pytest.approx(PORE_HEIGHT * rms, rel=0.15)


def test_every_map_of_a_person_carries_the_same_pores(rest):
    """A wrinkle over the rest map changes the high-res map by the wrinkle's own upsampling: the
    difference of two maps (what a blend of key maps adds) has no pores in it."""
    yy, xx = np.mgrid[:256, :256]
    wrinkle = (2e-4 * np.exp(-((yy - 128) ** 2 + (xx - 100) ** 2) / 200.0)).astype(np.float32)
    a = high_res_relief(rest[None], 1024, rest)[0]
    b = high_res_relief((rest + wrinkle)[None], 1024, rest)[0]
    assert np.allclose(b - a, sharpen_upsample(wrinkle[None], 1024)[0], atol=1e-9)


def test_the_pore_texture_keeps_its_size_on_the_skin():
    """A 2048 map gets the same pores as a 1024 one, over twice the texels (averaged back to 1024
    they are the 1024 texture), and each texture has unit RMS."""
    import cv2

    t1, t2 = unit_pores(1024), unit_pores(2048)
    assert t1.std() == pytest.approx(1.0, rel=1e-3) and t2.std() == pytest.approx(1.0, rel=1e-3)
    back = cv2.resize(t2, (1024, 1024), interpolation=cv2.INTER_AREA)
    assert np.corrcoef(back.ravel(), t1.ravel())[0, 1] > 0.9
    assert not t1.flags.writeable      # cached: nobody may change it for the next caller
