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
def meter(openhead):
    from headsmith.wrinkles.group_metrics import GroupMeter

    return GroupMeter(openhead, S)


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


class _GeneratorAsDecoder:
    """The generator behind the decoder interface that `GroupMeter` reads."""

    def __init__(self, model, tables):
        self.model, self.tables, self.size = model, tables, tables.size

    def decode(self, code, expression, jaw):
        return generate(self.model, self.tables, torch.as_tensor(code), torch.as_tensor(expression),
                        torch.as_tensor(jaw)).numpy()


@pytest.mark.parametrize("group", ["brows_up", "brows_down", "squint", "blink", "smile", "sneer", "pucker",
                                   "mouth_frown"])
def test_each_group_wrinkles_its_own_region_the_anatomical_way(setup, meter, group):
    """The training data's anatomy (issue 21): each group deep in its own region (>= 60 um RMS for a
    typical person), >= 3x any other region, lines the anatomical way."""
    from headsmith.detail.person import PERSON_PRIOR

    m, tables, _ = setup
    code = person_code(*PERSON_PRIOR[:4], PERSON_PRIOR[4:])
    r = meter.read(_GeneratorAsDecoder(m, tables), code, group)
    assert r.own_um >= 60 and r.ratio >= 3, r
    assert r.orientation is None or r.orientation >= 0.65, r
