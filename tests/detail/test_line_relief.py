"""The person residual keeps relief that forms lines and fades directionless clutter out
(detail/line_relief.py), on known patterns: a grating, short crossing-free lines, blurred noise."""
import cv2
import numpy as np

from headsmith.detail.line_relief import coherence, line_relief

S = 256


def _rms(x):
    return float(np.sqrt((x ** 2).mean()))


def _clutter(seed=0, sigma=1.5):
    """Isotropic lumps a few texels wide (what shape from shading makes of blotches), 0.1 mm RMS."""
    n = cv2.GaussianBlur(np.random.default_rng(seed).normal(0, 1, (S, S)).astype(np.float32), (0, 0), sigma)
    return n / n.std() * 1e-4


def _lines():
    """Horizontal furrows 6 texels apart, each 60 texels long, 0.1 mm deep, scattered over the map."""
    y, x = np.mgrid[0:S, 0:S].astype(np.float32)
    relief = np.zeros((S, S), np.float32)
    for cy, cx in ((40, 60), (40, 170), (120, 100), (200, 60), (200, 180)):
        along = np.clip(1 - np.abs(x - cx) / 30, 0, 1)
        relief += -1e-4 * np.cos((y - cy) * np.pi / 6) * (np.abs(y - cy) < 9) * along
    return relief


def test_a_grating_is_coherent_and_noise_is_not():
    y = np.mgrid[0:S, 0:S][0].astype(np.float32)
    grating = np.sin(y * 2 * np.pi / 10).astype(np.float32)
    inner = (slice(20, -20), slice(20, -20))
    assert coherence(grating, 3.0)[inner].min() > 0.95
    assert np.median(coherence(_clutter(), 3.0)[inner]) < 0.45
    assert coherence(np.zeros((S, S), np.float32), 3.0).max() == 0.0


def test_lines_stay_and_clutter_goes():
    """Lines keep their height; lumps with no direction lose about half of theirs (measured: lines
    100 % of their RMS, clutter 48 %; lumps twice as wide, more often coherent over the window, 70 %)."""
    lines, clutter = _lines(), _clutter()
    kept_lines = _rms(line_relief(lines)) / _rms(lines)
    kept_clutter = _rms(line_relief(clutter)) / _rms(clutter)
    assert kept_lines > 0.85, kept_lines
    assert kept_clutter < 0.6, kept_clutter


def test_the_window_widens_with_the_band_limit():
    """Relief held to a blurry photo (photo_resolution.py) is lumps as wide as the blur: the
    coherence window grows with it, so they fade as much as fine clutter does at the usual
    window, and lines stay (measured: lumps of sigma 3 texels kept 76 % at the usual window, 49 %
    with finest=3)."""
    lines, lumps = _lines(), _clutter(sigma=3.0)
    assert _rms(line_relief(lumps)) / _rms(lumps) > 0.7
    assert _rms(line_relief(lumps, finest=3.0)) / _rms(lumps) < 0.6
    assert _rms(line_relief(lines, finest=3.0)) / _rms(lines) > 0.85
    assert np.array_equal(line_relief(lumps, finest=1.0), line_relief(lumps))   # under the usual window: as before


def test_lines_over_clutter_come_through():
    """The same lines drawn over half their height of clutter: what is kept follows the lines."""
    lines = _lines()
    mixed = lines + 0.5 * _clutter(seed=1)
    kept = line_relief(mixed)
    on = np.abs(lines) > 0
    assert np.corrcoef(kept[on], lines[on])[0, 1] > np.corrcoef(mixed[on], lines[on])[0, 1]
    assert _rms(kept[~on]) < 0.5 * _rms(mixed[~on])


def test_lines_on_albedo_edges_fade():
    """A line where the fine albedo is an edge (shading trust 0: a rim's remnant, a lash line) goes;
    the same line where the trust is full stays, and half trust keeps it in proportion."""
    from headsmith.detail.line_relief import TRUST_FULL

    lines = _lines()
    trust = np.ones((S, S), np.float32)
    trust[:, :S // 2] = 0.0                                   # the left half: albedo edges
    kept = line_relief(lines, trust)
    left, right = (slice(None), slice(0, S // 2 - 4)), (slice(None), slice(S // 2 + 4, S))
    assert _rms(kept[left]) < 0.05 * _rms(lines[left])
    assert _rms(kept[right]) > 0.85 * _rms(lines[right])
    half = line_relief(lines, np.full((S, S), TRUST_FULL / 2, np.float32))
    assert abs(_rms(half) / _rms(line_relief(lines)) - 0.5) < 0.02
