"""Thin dark marks over the skin (a glasses frame, a loose strand) are found; a mole, a brow-wide
dark band, faint wrinkle shading and anything in the brows', lips' or lid margins' zones are not."""
import cv2
import numpy as np
import torch

from headsmith.texture.occlusion import SkinZones
from headsmith.texture.thin_occluders import thin_dark_lines

S = 512


def _zones(brows=None, lips=None, lids=None):
    none = torch.zeros(S, S, dtype=torch.bool)
    skin = torch.ones(S, S, dtype=torch.bool)
    return SkinZones(reference=skin, tested=skin, beardable=none, brighter=none, chin=none,
                     lips=none if lips is None else lips, lid_margins=none if lids is None else lids,
                     brows=none if brows is None else brows, skin=skin)


def _skin():
    rng = np.random.default_rng(0)
    grain = rng.normal(0, 0.04, (S, S, 1)).astype(np.float32)
    return np.exp(grain) * np.array([0.55, 0.38, 0.30], np.float32)


def _darken(albedo, mask, factor):
    out = albedo.copy()
    out[mask > 0] *= factor
    return out


def test_a_frame_and_a_strand_are_found_a_mole_and_a_brow_wide_band_are_not():
    frame, strand, mole, band = (np.zeros((S, S), np.uint8) for _ in range(4))
    cv2.ellipse(frame, (150, 150), (70, 45), 0, 0, 360, 1, 6)          # ~2 mm at a face, 1 cm+ long
    cv2.line(strand, (300, 40), (420, 200), 1, 2)
    cv2.circle(mole, (400, 400), 4, 1, -1)
    band[300:330, 60:250] = 1                                           # 30 texels tall: a brow's width
    albedo = _darken(_darken(_darken(_darken(_skin(), frame, 0.15), strand, 0.3), mole, 0.3), band, 0.3)
    found = thin_dark_lines(torch.as_tensor(albedo), torch.ones(S, S), _zones()).numpy()
    assert found[frame > 0].mean() > 0.95 and found[strand > 0].mean() > 0.9
    assert not found[mole > 0].any()
    assert found[band > 0].mean() < 0.05


def test_faint_lines_and_the_features_zones_are_left_alone():
    wrinkle, brow_frame = np.zeros((S, S), np.uint8), np.zeros((S, S), np.uint8)
    cv2.line(wrinkle, (50, 100), (250, 110), 1, 3)                      # a wrinkle's shading: 20 % darker
    cv2.line(brow_frame, (50, 300), (250, 300), 1, 4)                    # a frame across a brow
    albedo = _darken(_darken(_skin(), wrinkle, 0.8), brow_frame, 0.15)
    brows = torch.zeros(S, S, dtype=torch.bool)
    brows[280:320, 30:270] = True
    found = thin_dark_lines(torch.as_tensor(albedo), torch.ones(S, S), _zones(brows=brows)).numpy()
    assert not found[wrinkle > 0].any()
    assert not found[brows.numpy()].any()
    # unseen texels make no lines at their edges
    weight = torch.ones(S, S)
    weight[200:220, :] = 0
    assert not thin_dark_lines(torch.as_tensor(_skin()), weight, _zones()).numpy().any()
