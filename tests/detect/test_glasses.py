"""Glasses frames in a crop: found around the detected eyes on a photo that wears them, and not on
the bare astronaut; the mask covers the frames and little else."""
import cv2
import numpy as np
import pytest

from headsmith.detect.glasses import glasses_frames
from headsmith.detect.point_sets import POINT_SETS


@pytest.fixture(scope="module")
def astronaut_crop(astronaut_faces):
    faces = astronaut_faces
    return faces.crops[0], POINT_SETS[faces.point_set], faces.frames[0]


def _drawn_frames(crop, point_set, lens: tuple | None = None, axes=(0.32, 0.22),
                  drop: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """The crop with thin dark oval frames and a bridge drawn round the detected eyes (their
    lenses filled with `lens`, an sRGB colour, when given), and the drawn frame pixels (H, W).
    axes: the lenses' half-width and half-height, drop: how far their centres sit below the eyes'
    (all in inter-ocular distances)."""
    pts = crop.landmarks
    outer = pts[list(point_set.outer_eye_corners)]
    iod = float(np.linalg.norm(outer[1] - outer[0]))
    lids = pts[list(point_set.eyes)]
    right = (lids - outer.mean(0)) @ (outer[1] - outer[0]) > 0
    drawn = np.zeros(crop.image.shape[:2], np.uint8)
    t = max(2, int(iod / 35))                       # ~2 mm: a metal or thin plastic frame
    centres = [lids[~right].mean(0) + [0, drop * iod], lids[right].mean(0) + [0, drop * iod]]
    half = (int(iod * axes[0]), int(iod * axes[1]))
    for c in centres:
        cv2.ellipse(drawn, (int(c[0]), int(c[1])), half, 0, 0, 360, 1, t)
    a, b = centres
    cv2.line(drawn, (int(a[0] + half[0]), int(a[1])), (int(b[0] - half[0]), int(b[1])), 1, t)
    img = crop.image.copy()
    if lens is not None:
        for c in centres:
            cv2.ellipse(img, (int(c[0]), int(c[1])), half, 0, 0, 360, lens, -1)
    img[drawn > 0] = (20, 20, 25)
    return img, drawn > 0


def test_the_bare_astronaut_wears_no_glasses(astronaut_crop):
    crop, point_set, found = astronaut_crop
    assert found is None
    assert glasses_frames(crop.image, crop.landmarks, point_set) is None


def test_drawn_frames_are_found_and_masked(astronaut_crop):
    crop, point_set, _ = astronaut_crop
    img, drawn = _drawn_frames(crop, point_set)
    mask = glasses_frames(img, crop.landmarks, point_set)
    assert mask is not None and mask.shape == drawn.shape
    on = mask > 0.5
    rims = drawn.copy()
    rims[:, :] &= ~_bridge_columns(drawn, crop, point_set)
    assert on[rims].mean() > 0.85                   # the rims round both eyes (not the bridge)
    grown = cv2.dilate(drawn.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    assert (on & ~grown).sum() < 0.25 * on.sum()    # little else
    # the eyes themselves stay: the frames are rings, not patches
    eye_pts = crop.landmarks[list(point_set.eyes)].astype(int)
    assert on[eye_pts[:, 1], eye_pts[:, 0]].mean() < 0.1


def test_tall_frames_hanging_below_the_eyes_are_found(astronaut_crop):
    """Tall lenses whose centres sit below the eyes (the eye in the lens's upper part, as in
    grace_hopper's frames): the lower rims lie 0.39 inter-ocular distances below the eyes. A search
    ring 0.72 times as tall as wide reached 0.33 below and missed them (below-eye shares 0.32 and
    0.27); at 0.85 both eyes' rings stand out on every ray."""
    crop, point_set, _ = astronaut_crop
    img, drawn = _drawn_frames(crop, point_set, axes=(0.34, 0.28), drop=0.11)
    mask = glasses_frames(img, crop.landmarks, point_set)
    assert mask is not None
    lower = drawn & (np.arange(drawn.shape[0])[:, None] > crop.landmarks[list(point_set.eyes), 1].max())
    assert (mask > 0.5)[lower & ~_bridge_columns(drawn, crop, point_set)].mean() > 0.7


def _bridge_columns(drawn, crop, point_set) -> np.ndarray:
    """(H, W) bool: the columns between the two inner rims, where only the bridge is drawn."""
    pts = crop.landmarks
    outer = pts[list(point_set.outer_eye_corners)]
    iod = float(np.linalg.norm(outer[1] - outer[0]))
    mid = outer.mean(0)[0]
    cols = np.abs(np.arange(drawn.shape[1]) - mid) < iod * 0.12
    return np.broadcast_to(cols[None], drawn.shape)


def test_sunglasses_are_left_whole(astronaut_crop):
    """Dark lenses in the same frames: nothing is marked (without their rims the lenses would meet
    filled skin); tinted but light lenses are still clear glasses."""
    crop, point_set, _ = astronaut_crop
    dark, _ = _drawn_frames(crop, point_set, lens=(30, 32, 35))
    assert glasses_frames(dark, crop.landmarks, point_set) is None
    tinted, drawn = _drawn_frames(crop, point_set, lens=(200, 170, 150))
    mask = glasses_frames(tinted, crop.landmarks, point_set)
    assert mask is not None and (mask > 0.5)[drawn].mean() > 0.5
