"""The figures that say whether static relief copies the albedo."""
import numpy as np

from headsmith.detail.metrics import relief_albedo_correlation, share_at_bound


def _maps(seed=0, n=96):
    rng = np.random.default_rng(seed)
    albedo = rng.random((n, n))
    mask = np.zeros((n, n), bool)
    mask[8:-8, 8:-8] = True
    return rng, albedo, mask


def test_relief_that_copies_the_albedo_correlates_fully():
    _, albedo, mask = _maps()
    assert relief_albedo_correlation(0.0004 * albedo, albedo, mask) > 0.99
    assert relief_albedo_correlation(-0.0004 * albedo, albedo, mask) > 0.99   # ridges or grooves alike


def test_independent_relief_does_not_correlate():
    rng, albedo, mask = _maps()
    relief = 0.0004 * rng.random(albedo.shape)
    assert abs(relief_albedo_correlation(relief, albedo, mask)) < 0.1
    assert relief_albedo_correlation(np.zeros_like(albedo), albedo, mask) == 0.0


def test_texels_outside_the_mask_do_not_count():
    rng, albedo, mask = _maps()
    relief = 0.0004 * rng.random(albedo.shape)
    copied = relief.copy()
    copied[~mask] = albedo[~mask]
    assert relief_albedo_correlation(copied, albedo, mask) == relief_albedo_correlation(relief, albedo, mask)


def test_share_at_bound():
    r = np.array([[0.0, 0.00049], [-0.0005, 0.0003]])
    mask = np.ones((2, 2), bool)
    assert share_at_bound(r, 0.0005, mask) == 0.5
    assert share_at_bound(r, 0.0005, mask, within=0.5) == 0.75
    assert share_at_bound(r, 0.0005, np.zeros((2, 2), bool)) == 0.0


def test_mid_band_sees_lumps_not_pores_nor_broad_shape():
    """Relief at 256: lumps 6 texels apart (a few mm) fill the band; a one-texel checker (pores)
    and a slope across the whole map (the face's shape) hardly reach it."""
    from headsmith.detail.metrics import mid_band_rms

    n = 256
    y, x = np.mgrid[:n, :n]
    mask = np.zeros((n, n), bool)
    mask[32:-32, 32:-32] = True
    lumps = 1e-4 * np.sin(2 * np.pi * x / 12) * np.sin(2 * np.pi * y / 12)
    pores = 1e-4 * ((x + y) % 2 * 2 - 1)
    slope = 1e-4 * (x / n * 2 - 1) * 4
    assert mid_band_rms(lumps, mask) > 0.3 * np.sqrt((lumps[mask] ** 2).mean())
    assert mid_band_rms(pores, mask) < 0.05 * np.sqrt((pores[mask] ** 2).mean())
    assert mid_band_rms(slope, mask) < 0.05 * np.sqrt((slope[mask] ** 2).mean())
