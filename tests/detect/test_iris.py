"""Iris centres: drawn eyes with a known iris, and closed or iris-less eyes that must give None."""
import cv2
import numpy as np
import pytest

from headsmith.detect.iris import find_iris, find_irises, iris_array


def _eye_contour(cx=100.0, cy=60.0, width=60.0, opening=0.32):
    """dlib's six points of one eye: outer corner, two upper lid points, inner corner, two lower."""
    h = opening * width
    return np.array([[cx - width / 2, cy], [cx - width / 6, cy - h / 2], [cx + width / 6, cy - h / 2],
                     [cx + width / 2, cy], [cx + width / 6, cy + h / 2], [cx - width / 6, cy + h / 2]])


def _draw_eye(points, iris_centre, iris_radius, size=(120, 200), skin=0.72, sclera=0.93, iris=0.25):
    """Grey image: skin, the eye opening (an almond through the six points) in sclera white, and
    the iris disk clipped by the lids. Drawn at 8x and area-averaged (anti-aliased edges); pixel
    x of the result covers 8x..8x+7 of the drawing, so x maps to 8x + 3.5 there."""
    k = 8
    up = lambda p: np.round((np.asarray(p) * k + (k - 1) / 2)).astype(np.int32)  # noqa: E731
    big = np.full((size[0] * k, size[1] * k), skin, np.float32)
    opening = np.zeros_like(big)
    # a smooth almond: the polygon through the points, densified by a closed spline-like ellipse fit
    t = np.linspace(0, 2 * np.pi, 200)
    w = np.linalg.norm(points[3] - points[0]) / 2
    h = np.linalg.norm(points[1] - points[5]) / 2
    c = points.mean(0)
    almond = np.c_[c[0] + w * np.cos(t), c[1] + h * np.sin(t) * np.abs(np.sin(t)) ** 0.2]
    cv2.fillPoly(opening, [up(almond)], 1.0)
    disk = np.zeros_like(big)
    cv2.circle(disk, tuple(int(v) for v in up(iris_centre)), int(round(iris_radius * k)), 1.0, -1)
    img = np.where(opening > 0, np.where(disk > 0, iris, sclera), big)
    return cv2.resize(img, (size[1], size[0]), interpolation=cv2.INTER_AREA)


@pytest.mark.parametrize("offset", [(0.0, 0.0), (-9.0, 1.5), (8.0, -2.0), (14.0, 2.5)])
def test_drawn_iris_centre_is_found_to_subpixel(offset):
    pts = _eye_contour()
    centre = np.array([100.0, 60.0]) + offset
    gray = _draw_eye(pts, centre, iris_radius=12.0)
    iris = find_iris(gray, pts)
    assert iris is not None
    # sub-pixel although the lids hide the top and bottom of the iris
    assert np.linalg.norm(iris.center - centre) < 0.5, (iris.center, centre)
    assert abs(iris.radius - 12.0) < 2.0
    assert iris.contrast > 0.3


def test_closed_eye_and_eye_without_iris_are_not_seen():
    closed = _eye_contour(opening=0.08)
    assert find_iris(_draw_eye(closed, (100.0, 60.0), 12.0), closed) is None
    pts = _eye_contour()
    # all sclera: no dark disk, no contrast
    assert find_iris(_draw_eye(pts, (100.0, 60.0), 12.0, iris=0.93), pts) is None
    # far too small in the photo
    tiny = _eye_contour(width=6.0)
    assert find_iris(_draw_eye(tiny, (100.0, 60.0), 1.2), tiny) is None


def test_both_eyes_in_image_order_and_nan_for_an_unseen_eye():
    pts = np.zeros((68, 2))
    pts[36:42] = _eye_contour(cx=60.0)
    pts[42:48] = _eye_contour(cx=160.0, opening=0.05)            # the image-right eye is closed
    gray = np.maximum(_draw_eye(pts[36:42], (63.0, 60.0), 12.0), 0)
    rgb = np.repeat((gray * 255).astype(np.uint8)[..., None], 3, 2)
    found = iris_array(find_irises(rgb, pts))
    assert found.shape == (2, 2)
    assert np.linalg.norm(found[0] - (63.0, 60.0)) < 1.0
    assert np.isnan(found[1]).all()
