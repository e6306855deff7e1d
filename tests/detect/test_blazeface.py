"""MediaPipe's short-range face detector (BlazeFace, shipped as ONNX): its SSD decoding on real
photos (the astronaut, plain and letterboxed). The dense landmarker finding faces through it where
dlib's HOG finds none: test_mediapipe478.py."""
import numpy as np
import pytest

from headsmith.detect import blazeface
from headsmith.detect.blazeface import BlazeFace, anchors, weighted_nms
from headsmith.detect.dlib68 import DetectorUnavailable, Dlib68

@pytest.fixture(scope="module")
def astronaut():
    import skimage.data

    return skimage.data.astronaut()


def iou(a, b) -> float:
    lo, hi = np.maximum(a[:2], b[:2]), np.minimum(a[2:], b[2:])
    inter = float(np.prod(np.clip(np.subtract(hi, lo), 0, None)))
    area = lambda r: (r[2] - r[0]) * (r[3] - r[1])
    return inter / (area(a) + area(b) - inter)


def test_anchors_are_the_two_grids_of_the_short_range_graph():
    a = anchors()
    assert a.shape == (896, 2)
    assert np.allclose(a[0], a[1]) and np.allclose(a[0], [1 / 32, 1 / 32])      # 16 x 16, 2 per cell
    assert np.allclose(a[2], [3 / 32, 1 / 32]) and np.allclose(a[511], [31 / 32, 31 / 32])
    assert np.allclose(a[512:518], [1 / 16, 1 / 16]) and np.allclose(a[-1], [15 / 16, 15 / 16])   # 8 x 8, 6 per cell


def test_weighted_nms_merges_overlapping_detections_by_score():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]], float)
    points = np.zeros((3, 6, 2))
    points[:, 0] = [[2, 2], [4, 2], [55, 55]]
    faces = weighted_nms(boxes, points, np.array([0.9, 0.3, 0.6]))
    assert len(faces) == 2
    box, pts, score = faces[0]
    assert score == 0.9 and np.allclose(box, [0.25, 0, 10.25, 10]) and np.allclose(pts[0], [2.5, 2])
    assert np.allclose(faces[1][0], boxes[2])


def test_finds_the_face_dlib_finds(astronaut):
    faces = BlazeFace().detect(astronaut)
    assert len(faces) == 1 and faces[0].score > 0.8
    (dlib_face,) = Dlib68().boxes(astronaut)
    assert iou(faces[0].box, dlib_face.box) > 0.6
    l, t, r, b = faces[0].box
    right_eye, left_eye = faces[0].eyes                  # the subject's right eye is on the image's left
    assert l < right_eye[0] < left_eye[0] < r and t < right_eye[1] < (t + b) / 2


def test_a_letterboxed_photo_maps_back_to_its_own_pixels(astronaut):
    """A wide photo is padded to a square for the model (the face gets smaller in it); boxes come
    back in the photo's pixels."""
    wide = np.full((512, 620, 3), 90, np.uint8)
    wide[:, 80:592] = astronaut
    (plain,), (shifted,) = BlazeFace().detect(astronaut), BlazeFace().detect(wide)
    assert np.abs(np.subtract(shifted.box, plain.box) - [80, 0, 80, 0]).max() <= 4
    assert np.abs(shifted.eyes - plain.eyes - [80, 0]).max() < 4


def test_a_missing_model_file_says_how_to_rebuild_it(tmp_path, monkeypatch):
    monkeypatch.setattr(blazeface, "ASSETS", tmp_path)
    with pytest.raises(DetectorUnavailable, match="build_mediapipe_onnx"):
        BlazeFace()
