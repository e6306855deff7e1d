"""The dense landmarker: MediaPipe's face mesh and iris models, converted to ONNX and shipped in
assets/mediapipe, run on a real photo (the astronaut)."""
import hashlib
import json

import cv2
import numpy as np
import pytest

from headsmith.detect import Dlib68, make_detector
from headsmith.detect.mediapipe478 import MediaPipe478
from headsmith.detect.mediapipe_models import ASSETS
from headsmith.detect.point_sets import FACE_OVAL, IBUG68, MEDIAPIPE478

# MediaPipe mesh point -> the iBUG-68 point at the same place on the face
SAME_PLACE = {33: 36, 133: 39, 362: 42, 263: 45, 61: 48, 291: 54, 152: 8, 4: 30}


@pytest.fixture(scope="module", params=["google", "openhead"])
def mediapipe(request):
    """The landmarker with each of its mesh weights (Google's; tuned to OpenHead's points)."""
    return MediaPipe478(mesh_weights=request.param)


@pytest.fixture(scope="module")
def astronaut():
    import skimage.data

    return skimage.data.astronaut()


def test_shipped_models_are_the_recorded_conversion():
    prov = json.loads((ASSETS / "PROVENANCE.json").read_text())
    assert prov["licence"].startswith("Apache-2.0")
    for name, entry in prov["models"].items():
        assert hashlib.sha256((ASSETS / name).read_bytes()).hexdigest() == entry["onnx_sha256"], name


def test_478_points_where_dlib_puts_the_same_features(mediapipe, astronaut):
    faces = mediapipe.detect(astronaut)
    assert len(faces) == 1 and faces[0].points.shape == (478, 2) and faces[0].score > 0.9
    dense, sparse = faces[0].points, Dlib68().detect(astronaut)[0].points
    iod = faces[0].interocular
    assert 0.9 < iod / np.linalg.norm(sparse[36] - sparse[45]) < 1.1
    for mp_i, ibug_i in SAME_PLACE.items():
        assert np.linalg.norm(dense[mp_i] - sparse[ibug_i]) < 0.08 * iod, (mp_i, ibug_i)
    # each iris centre lies between its eye's corners, the subject's right eye (image left) first
    for centre, (a, b) in zip((468, 473), ((33, 133), (362, 263))):
        lo, hi = sorted((dense[a, 0], dense[b, 0]))
        assert lo < dense[centre, 0] < hi
        assert abs(dense[centre, 1] - (dense[a, 1] + dense[b, 1]) / 2) < 0.1 * iod


def test_points_follow_a_tilted_photo(mediapipe, astronaut):
    """The second pass turns the crop upright by the eye corners: a photo tilted 25 degrees gives
    the same points, tilted (within 2 % of the inter-ocular distance on average)."""
    h, w = astronaut.shape[:2]
    M = cv2.getRotationMatrix2D((w / 2, h / 2), 25, 1.0)
    tilted = cv2.warpAffine(astronaut, M, (w, h), borderMode=cv2.BORDER_REFLECT)
    upright = mediapipe.detect(astronaut)[0]
    found = mediapipe.detect(tilted)
    assert found, "the tilted face was not found"
    expected = upright.points @ M[:, :2].T + M[:, 2]
    err = np.linalg.norm(found[0].points[:468] - expected[:468], axis=1).mean() / upright.interocular
    assert err < 0.02


def test_no_face_gives_no_points(mediapipe):
    noise = np.random.default_rng(0).integers(0, 255, (300, 300, 3), dtype=np.uint8)
    assert mediapipe.detect(noise) == []
    with pytest.raises(ValueError, match="RGB uint8"):
        mediapipe.detect(noise.astype(np.float32))


def test_the_mesh_pass_reads_the_face_presence(mediapipe, astronaut):
    """The V2 mesh model has three outputs; the face-presence logit is the (1, 1, 1, 1) one: high
    on the astronaut's face, low on a crop of noise or of the photo's background."""
    from headsmith.detect.mediapipe478 import MIN_FACE_SCORE, Roi

    face = mediapipe.detect(astronaut)[0]
    assert face.score > 0.99
    noise = np.random.default_rng(1).integers(0, 255, (400, 400, 3), dtype=np.uint8)
    _, score = mediapipe.mesh(noise, Roi(np.array([200.0, 200.0]), 300.0, 0.0))
    assert score < MIN_FACE_SCORE
    _, score = mediapipe.mesh(astronaut, Roi(np.array([420.0, 400.0]), 150.0, 0.0))   # the suit and flag
    assert score < MIN_FACE_SCORE


def test_point_sets_describe_their_detectors():
    assert make_detector("mediapipe").point_set == MEDIAPIPE478.name
    assert make_detector("dlib").point_set == IBUG68.name
    for ps in (IBUG68, MEDIAPIPE478):
        idx = [i for pair in ps.eyelid_pairs + ps.lip_pairs for i in pair] + list(ps.contour)
        assert max(idx) < ps.n_points and ps.weights().shape == (ps.n_points,)
    assert len(set(FACE_OVAL)) == 36 and MEDIAPIPE478.weights()[468:].sum() == 0   # irises: the gaze's


def test_missing_models_say_how_to_rebuild(monkeypatch, tmp_path):
    from headsmith.detect import DetectorUnavailable, mediapipe478

    monkeypatch.setattr(mediapipe478, "ASSETS", tmp_path)
    with pytest.raises(DetectorUnavailable, match="build_mediapipe_onnx"):
        MediaPipe478()
    with pytest.raises(DetectorUnavailable, match="headsmith-train landmarks"):
        MediaPipe478(mesh_weights="openhead")
    with pytest.raises(ValueError, match="unknown mesh weights"):
        MediaPipe478(mesh_weights="mine")


def test_a_closed_eye_shows_no_iris(mediapipe, astronaut):
    """The pipeline takes MediaPipe's irises only where the lids are apart: closing one eye's lids
    (moving the lower lid onto the upper) leaves that eye's iris unseen, the other kept."""
    from headsmith.detect import crop_face
    from headsmith.pipeline.stages import iris_centres_in_crop

    pts = mediapipe.detect(astronaut)[0].points.copy()
    crop = crop_face(astronaut, pts, 512, box=MEDIAPIPE478.box)
    open_eyes = iris_centres_in_crop(crop, MEDIAPIPE478)
    assert np.isfinite(open_eyes).all()
    upper, lower = MEDIAPIPE478.lid_middles[0]
    crop.landmarks[lower] = crop.landmarks[upper]
    closed = iris_centres_in_crop(crop, MEDIAPIPE478)
    assert np.isnan(closed[0]).all() and np.allclose(closed[1], open_eyes[1])


def test_tuned_mesh_is_the_recorded_training_of_the_shipped_v2():
    """face_landmarks_openhead.onnx: the V2 graph with other weights, as its training record says
    (tests/training/test_train_landmarks.py measures it on new renders)."""
    import onnx

    rec = json.loads((ASSETS / "face_landmarks_openhead.json").read_text())
    assert hashlib.sha256((ASSETS / "face_landmarks_openhead.onnx").read_bytes()).hexdigest() == rec["onnx_sha256"]
    prov = json.loads((ASSETS / "PROVENANCE.json").read_text())
    assert rec["source_onnx_sha256"] == prov["models"]["face_landmarks_detector.onnx"]["onnx_sha256"]
    tuned, google = (onnx.load(str(ASSETS / n)) for n in ("face_landmarks_openhead.onnx", "face_landmarks_detector.onnx"))
    assert [n.op_type for n in tuned.graph.node] == [n.op_type for n in google.graph.node]
    assert rec["heldout_error_iod_trained"] < rec["heldout_error_iod_original"]
    assert rec["steps_done"] == rec["config"]["steps"] and "headsmith-train landmarks" in rec["command"]


@pytest.mark.parametrize("degrees", [30, 40, 60, 90])
def test_a_tilted_head_gives_the_points_of_the_upright_one_turned(astronaut, degrees):
    """The photo turned in its own plane: the points are the upright photo's points under the same
    turn. Up to ~45 degrees dlib's box starts it and the first crop is framed again upright; past
    that dlib finds no face and MediaPipe's detector does, its eyes turning the first crop."""
    upright = MediaPipe478().detect(astronaut)[0].points
    M = cv2.getRotationMatrix2D((226, 128), degrees, 1.0)      # about the face
    photo = cv2.warpAffine(astronaut, M, astronaut.shape[1::-1], borderMode=cv2.BORDER_REFLECT)
    assert (Dlib68().boxes(photo) == []) == (degrees > 45)
    faces = MediaPipe478().detect(photo)
    assert len(faces) == 1
    truth = upright @ M[:, :2].T + M[:, 2]
    iod = np.linalg.norm(truth[33] - truth[263])
    assert np.linalg.norm(faces[0].points - truth, axis=1).mean() < 0.008 * iod
