"""The fit's stage helpers (backend/fit/stages.py)."""
from types import SimpleNamespace

import torch

from headsmith.fit.stages import clamp_expression


def test_expressions_are_kept_in_the_models_range():
    """ARKit weights stay in 0..1; FLAME's components may be negative (within +-3 standard deviations)."""
    for rng, expected in (((0.0, 1.0), [0.0, 0.4, 1.0]), ((-3.0, 3.0), [-1.5, 0.4, 3.0])):
        st = SimpleNamespace(model=SimpleNamespace(expression_range=rng), expression=torch.tensor([[-1.5, 0.4, 3.5]]),
                             jaw=torch.tensor([[0.9, 0.0, 0.0]]))
        clamp_expression(st)
        assert torch.allclose(st.expression[0], torch.tensor(expected))
        assert abs(float(st.jaw[0, 0]) - 0.6) < 1e-6
