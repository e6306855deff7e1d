"""The synthetic wrinkle generator has the properties the decoder must learn (issue 4's tests)."""
import numpy as np
import pytest
import torch

from headsmith_training.wrinkle_generator import (build_tables, compression_field, generate,
                                                  person_code, sample_expressions)
from tests.wrinkle_properties import UVFace, check_brows_up, check_squint, check_symmetric

S = 256


@pytest.fixture(scope="module")
def setup(openhead):
    code = torch.tensor(person_code(0.7, 0.7, 0.5, 0.5, [1, 0, 0, 0]))[None]
    return openhead, build_tables(openhead, S), code


@pytest.fixture(scope="module")
def face(openhead):
    return UVFace.of(openhead, S)


def _maps(setup, expr, jaw=None):
    m, tables, code = setup
    e = m.expression_vector(expr)
    return generate(m, tables, code, e, torch.zeros(1, 3) if jaw is None else jaw)


def test_neutral_has_only_the_static_part(setup):
    m, tables, _ = setup
    neutral = _maps(setup, {})
    comp, _ = compression_field(m, tables, m.expression_vector({}), torch.zeros(1, 3))
    assert comp.abs().max() < 1e-4
    assert neutral.abs().max() < 3e-4          # pores only: a fraction of a millimetre


def test_brows_up_gives_horizontal_forehead_furrows(setup, face):
    check_brows_up(face, lambda e: _maps(setup, e))


def test_squint_gives_crows_feet_at_the_outer_eye_corners(setup, face):
    check_squint(face, lambda e: _maps(setup, e))


def test_symmetric_expression_gives_a_symmetric_map(setup, face):
    check_symmetric(face, lambda e: _maps(setup, e))


def test_expression_sampler_covers_neutral_and_key_poses(openhead):
    E, J = sample_expressions(400, openhead.expression_names, np.random.default_rng(0))
    assert E.shape == (400, 52) and J.shape == (400, 3)
    assert (E.sum(1) == 0).mean() > 0.05 and (J[:, 0] > 0).mean() > 0.2
    assert E[:, openhead.expression_names.index("browInnerUp")].max() > 0.9
