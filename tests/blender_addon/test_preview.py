"""The preview renders of avatar.png (scene/preview.py) with Cycles in the bpy wheel: denoised, so
the subsurface scattering's sampling grain does not read as stubble on the skin."""
import cv2
import numpy as np
import pytest


@pytest.fixture
def rig(empty_scene, avatar):
    from headsmith_blender.scene.rig_builder import build_head

    return build_head(avatar, pack=False)


def pixel_grain(img: np.ndarray) -> float:
    """Mean absolute difference (sRGB 0-255 grey) between each head pixel and its 3x3 mean: the
    render's per-pixel noise; the head's shading and texture vary far more slowly at this size."""
    grey = img.astype(np.float32).mean(2)
    head = (np.abs(img.astype(int) - img[2, 2].astype(int)).sum(2) > 15).astype(np.uint8)   # off the background
    inner = cv2.erode(head, np.ones((7, 7), np.uint8)) > 0
    return float(np.abs(grey - cv2.blur(grey, (3, 3)))[inner].mean())


def test_the_wheels_have_the_denoiser():
    from headsmith_blender.scene.preview import has_denoiser

    assert has_denoiser()


def test_renders_are_denoised(rig, monkeypatch):
    """The same neutral render sampled alike, denoised and not: denoising takes out most of the
    grain (the sample head at 192 px, 16 samples: 4.1 raw -> 1.3 grey levels)."""
    from headsmith_blender.scene import preview

    poses = {"neutral": ({}, 0.0)}
    clean = preview.render_poses(rig, poses, size=192, samples=16, three_quarter=False)["neutral"]
    monkeypatch.setattr(preview, "has_denoiser", lambda: False)
    raw = preview.render_poses(rig, poses, size=192, samples=16, three_quarter=False)["neutral"]
    assert pixel_grain(clean) < 0.5 * pixel_grain(raw)
    assert abs(float(clean.mean()) - float(raw.mean())) < 4     # the same picture, not a darker one
