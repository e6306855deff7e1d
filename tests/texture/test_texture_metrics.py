"""The seam measures of texture.metrics on maps whose grain is known."""
import numpy as np

from headsmith.texture.metrics import grain_ratio

S = 512


def test_the_typical_grain_is_not_set_by_a_few_edges():
    """Both sides of the boundary carry the same grain, and the photographed side also a few dark
    specks (under 1 % of its texels: bits of a lip border, a hole's rim): the RMS ratio falls
    under 0.5 on them alone, the typical texel's ratio stays near 1."""
    rng = np.random.default_rng(0)
    lum = 0.6 + rng.normal(0, 0.01, (S, S))
    coverage = np.zeros((S, S), np.float32)
    coverage[:, : S // 2] = 1.0
    lum[::8, S // 2 - 10] = 0.1                  # specks in the photographed band (16 texels wide)
    albedo = np.repeat(lum[..., None], 3, -1).astype(np.float32)
    mask = np.ones((S, S), bool)
    assert grain_ratio(albedo, coverage, mask) < 0.5                        # 0.20
    assert 0.7 < grain_ratio(albedo, coverage, mask, typical=True) < 1.3   # the specks' blurred halo: 0.83
