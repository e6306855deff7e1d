"""The baked wrinkle blend: at rest it is the static map exactly (no key weight above 0), and the
weight fit keeps its bias at most 0 while still following the data."""
import numpy as np
import pytest
import torch

from headsmith.detail.person import PERSON_PRIOR
from headsmith.wrinkles.bake import _weight_fit
from headsmith.wrinkles.maps import bake_wrinkle_maps
from headsmith.wrinkles.sources import openhead_decoder
from headsmith.wrinkles.texture_decoder import CODE_DIM


def test_weight_fit_bias_is_at_most_zero():
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.random((200, 3)), np.ones((200, 1))], 1)
    up = X @ np.array([0.5, 0.2, 0.0, 0.3])          # the data want a positive bias
    down = X @ np.array([0.5, 0.2, 0.0, -0.3])       # a threshold: a negative bias is kept
    assert _weight_fit(X, up)[-1] == 0.0
    assert np.allclose(_weight_fit(X, down), [0.5, 0.2, 0.0, -0.3])


@pytest.fixture(scope="module")
def maps(openhead):
    """One bake for a typical person (the detail prior's code), shared by the tests below."""
    code = np.zeros(CODE_DIM, np.float32)
    code[:len(PERSON_PRIOR)] = PERSON_PRIOR
    return bake_wrinkle_maps(openhead, openhead_decoder(openhead.n_expression), code, None,
                             torch.zeros(1, openhead.n_shape))


def test_neutral_blends_to_the_static_map_exactly(openhead, maps):
    rest = np.zeros((1, openhead.n_expression), np.float32)
    assert maps.baked.region_weights(rest, np.zeros(1)).max() == 0.0
    assert np.array_equal(maps.baked.blend(rest, np.zeros(1))[0], maps.baked.neutral)
    assert maps.blend_error["mean_um"] < 0.65 * maps.blend_error["signal_mean_um"]   # today ~0.59


def test_the_jaw_open_shape_key_drives_the_jaw_terms(openhead, maps):
    """An ARKit stream opens the mouth with the jawOpen shape key alone: the key weights follow it
    as they follow the jaw bone opened by the same chin movement (before: jawOpen drove none)."""
    from headsmith.wrinkles.bake import jaw_open_equivalent

    eq = jaw_open_equivalent(openhead)
    assert 0.3 < eq < 0.5                                   # jawOpen at 1 moves the chin ~38 mm
    baked = maps.baked
    e = np.zeros((1, openhead.n_expression), np.float32)
    e[0, openhead.expression_names.index("jawOpen")] = 1.0
    by_key = baked.region_weights(e, np.zeros(1))
    by_bone = baked.region_weights(np.zeros_like(e), np.array([eq]))
    assert by_bone.max() > 0.2
    assert np.allclose(by_key, by_bone, atol=1e-6)
