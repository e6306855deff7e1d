"""Loose hair strands in a crop: thin dark lines falling from the hairline over the forehead, a
brow and the lid are found and masked; the bare astronaut has none; lines of the same darkness
that lie along the eye axis (a lid crease, forehead wrinkles) are not strands."""
import cv2
import numpy as np
import pytest

from headsmith.detect.point_sets import POINT_SETS
from headsmith.detect.strands import strand_mask
from headsmith.pipeline.stages import Faces


@pytest.fixture(scope="module")
def astronaut_crop(astronaut_faces):
    return astronaut_faces.crops[0], POINT_SETS[astronaut_faces.point_set], astronaut_faces.strands[0]


def _frame(crop, point_set):
    """The eyes' middle, the eye axis (unit) and the iod, crop pixels."""
    pts = crop.landmarks
    outer = pts[list(point_set.outer_eye_corners)]
    iod = float(np.linalg.norm(outer[1] - outer[0]))
    return pts[list(point_set.eyes)].mean(0), (outer[1] - outer[0]) / iod, iod


def _drawn(crop, point_set, falling: bool) -> tuple[np.ndarray, np.ndarray]:
    """The crop with six thin dark-brown lines drawn over the forehead and the image-right brow:
    falling from the hairline to the lid and temple (falling), or lying along the eye axis at
    the heights of forehead wrinkles -> (image, the drawn pixels (H, W) bool)."""
    mid, ex, iod = _frame(crop, point_set)
    ey = np.array([-ex[1], ex[0]])
    drawn = np.zeros(crop.image.shape[:2], np.uint8)
    t = np.linspace(0, 1, 60)[:, None]
    for k in range(6):
        if falling:   # from 0.75 iod above the eyes down to their level, bending outwards
            a = mid + ex * iod * (0.05 + 0.07 * k) - ey * iod * 0.75
            b = a + ex * iod * (0.12 + 0.03 * k) + ey * iod * 0.7
            c = (a + b) / 2 + ex * iod * 0.06
        else:         # across the forehead, 0.4-0.65 iod above the eyes
            a = mid - ex * iod * 0.3 - ey * iod * (0.4 + 0.05 * k)
            b = a + ex * iod * 0.6
            c = (a + b) / 2 - ey * iod * 0.03
        curve = (1 - t) ** 2 * a + 2 * t * (1 - t) * c + t ** 2 * b
        cv2.polylines(drawn, [np.round(curve).astype(np.int32)], False, 1, 2, cv2.LINE_AA)
    img = crop.image.copy()
    img[drawn > 0] = (45, 33, 24)
    return img, drawn > 0


def test_the_bare_astronaut_has_no_strands(astronaut_crop):
    crop, point_set, found = astronaut_crop
    assert found is None
    assert strand_mask(crop.image, crop.landmarks, point_set) is None


def test_falling_strands_are_found_and_masked(astronaut_crop):
    crop, point_set, _ = astronaut_crop
    img, drawn = _drawn(crop, point_set, falling=True)
    mask = strand_mask(img, crop.landmarks, point_set)
    assert mask is not None and mask.shape == drawn.shape
    on = mask > 0.5
    mid, _, iod = _frame(crop, point_set)
    eyes = crop.landmarks[list(point_set.eyes)]
    # on the skin the search looks at (away from the eyes), most of each strand is masked
    away = np.ones_like(drawn)
    for p in eyes:
        cv2.circle(away.view(np.uint8), (int(p[0]), int(p[1])), int(0.06 * iod), 0, -1)
    assert on[drawn & away].mean() > 0.7
    grown = cv2.dilate(drawn.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    assert (on & ~grown).sum() < 0.1 * on.sum()     # little else
    assert not on[eyes[:, 1].astype(int), eyes[:, 0].astype(int)].any()   # never the eyes


def test_a_strand_is_followed_below_the_search_region(astronaut_crop):
    """A strand falling from the hairline over the nose's bridge and on down beside the nose:
    found above the eyes, followed below them, where nothing is searched for."""
    crop, point_set, _ = astronaut_crop
    mid, ex, iod = _frame(crop, point_set)
    ey = np.array([-ex[1], ex[0]])
    drawn = np.zeros(crop.image.shape[:2], np.uint8)
    a, b = mid + ex * iod * 0.03 - ey * iod * 0.75, mid + ex * iod * 0.09 + ey * iod * 0.5
    cv2.line(drawn, tuple(np.round(a).astype(int)), tuple(np.round(b).astype(int)), 1, 2, cv2.LINE_AA)
    img = crop.image.copy()
    img[drawn > 0] = (45, 33, 24)
    mask = strand_mask(img, crop.landmarks, point_set)
    assert mask is not None
    on, ys, xs = mask > 0.5, *np.nonzero(drawn)
    below = ((np.stack([xs, ys], 1) - mid) @ ey) / iod > 0.1       # lower than the eyes' middle
    assert on[ys[below], xs[below]].mean() > 0.7
    grown = cv2.dilate(drawn, np.ones((9, 9), np.uint8)) > 0
    assert (on & ~grown).sum() < 0.1 * on.sum()


def test_lines_along_the_eye_axis_are_not_strands(astronaut_crop):
    """Forehead wrinkles and lid creases are as thin and dark, but lie along the eyes."""
    crop, point_set, _ = astronaut_crop
    img, _ = _drawn(crop, point_set, falling=False)
    assert strand_mask(img, crop.landmarks, point_set) is None


def test_covers_merge_frames_and_strands():
    frames = np.zeros((4, 4), np.float32)
    frames[0, 0] = 1
    strands = np.zeros((4, 4), np.float32)
    strands[0, 0], strands[3, 3] = 0.5, 0.8
    faces = Faces([], [], [], [], frames=[frames, None, None], strands=[strands, strands, None])
    merged, only_strands, nothing = faces.covers
    assert merged[0, 0] == 1 and merged[3, 3] == np.float32(0.8)
    assert np.array_equal(only_strands, strands) and nothing is None
