"""Acceptance of the landmark embeddings: each detector on OpenHead renders lands on the model's own
projected points of its point set (mean over the embedded points, over the inter-ocular
distance): dlib's 68 (assets/openhead/openhead.npz) and MediaPipe's 468 mesh points
(assets/openhead/mediapipe478.npz). Their contours slide with yaw; MediaPipe's other points too."""
import math

import numpy as np
import pytest
import torch

from headsmith.detect import make_detector
from headsmith.detect.point_sets import FACE_OVAL
from headsmith.pictures.contact_sheet import Tile, render_tile
from headsmith.render import MeshRenderer

# detector -> (frontal bound, turned +-30 degrees bound), fractions of the inter-ocular distance
BOUNDS = {"dlib": (0.04, 0.06), "mediapipe": (0.03, 0.035)}


def _error(openhead, detector, tile, size=512):
    det = make_detector(detector)
    emb = openhead.landmark_set(det.point_set)
    img, lmk = render_tile(openhead, MeshRenderer(openhead.faces), tile, size, embedding=emb)
    faces = det.detect(img)
    assert faces, f"{detector} found no face on the {tile.label} render"
    points = faces[0].points[emb.detector_index().numpy()]
    return np.linalg.norm(points - lmk, axis=1).mean() / faces[0].interocular


@pytest.mark.parametrize("detector", BOUNDS)
def test_frontal_neutral(openhead, detector):
    assert _error(openhead, detector, Tile("neutral")) < BOUNDS[detector][0]


@pytest.mark.parametrize("detector", BOUNDS)
@pytest.mark.parametrize("yaw", [-30.0, 30.0])
def test_turned_head(openhead, detector, yaw):
    assert _error(openhead, detector, Tile(f"yaw {yaw}", yaw_deg=yaw)) < BOUNDS[detector][1]


def test_every_mesh_point_embedded_once_with_the_oval_as_outline(openhead):
    emb = openhead.landmark_set("mediapipe478")
    index = emb.detector_index().tolist()
    assert sorted(index) == list(range(468))
    assert emb.n_outline == len(FACE_OVAL) and index[:emb.n_outline] == list(FACE_OVAL)
    assert emb.contour_faces.shape[1] == 468          # every point has a row per yaw
    rows = emb.contour_row(torch.tensor([-30.0, 0.0, 30.0]))
    assert len(set(rows.tolist())) == 3
    assert not torch.equal(emb.contour_faces[rows[0]], emb.contour_faces[rows[2]])


@pytest.mark.parametrize("yaw", [-30.0, 30.0])
def test_yaw_rows_follow_the_detector_on_turned_heads(openhead, yaw):
    """On a turned head MediaPipe's points sit closer to the embedding's row for that yaw than to
    its frontal row (the reason every point has rows; these part-colour renders are not the
    made-up faces the embedding was built from). Face mesh V2 slides its points less than V1
    did, so the bound is 0.85 of the frontal row's error (benchmarks/NOTES.md); without rows the
    ratio is 1."""
    from headsmith.headmodel import HeadPose
    from headsmith.pictures.contact_sheet import SHEET_SCALE, SHEET_TY
    from headsmith.render import OrthographicCamera

    emb = openhead.landmark_set("mediapipe478")
    img, _ = render_tile(openhead, MeshRenderer(openhead.faces), Tile("turned", yaw_deg=yaw), 512, embedding=emb)
    found = make_detector("mediapipe").detect(img)[0]
    detected = found.points[emb.detector_index().numpy()]
    pose = HeadPose.zeros(1)
    pose.global_rot[0, 1] = math.radians(yaw)
    vertices = openhead(pose=pose).vertices
    cam = OrthographicCamera(torch.tensor([[SHEET_SCALE, 0.0, SHEET_TY]]))

    def error(row_yaw):
        px = cam.project(emb.points(vertices, openhead.faces, torch.tensor([row_yaw])), 512, 512)[0, :, :2]
        return np.linalg.norm(detected - px.detach().numpy(), axis=1).mean() / found.interocular

    assert error(yaw) < 0.85 * error(0.0)


def test_contour_slides_with_yaw(openhead):
    """The jaw-contour points change with head yaw (dynamic contour), the inner points don't."""
    import torch

    from headsmith.headmodel import HeadPose

    lm = openhead.landmarks
    rows = lm.contour_row(torch.tensor([-30.0, 0.0, 30.0]))
    assert len(set(rows.tolist())) == 3
    assert not torch.equal(lm.contour_faces[rows[0]], lm.contour_faces[rows[2]])
    pose = HeadPose.zeros(1)
    pose.global_rot[0, 1] = 0.5
    turned = openhead(pose=pose)
    assert turned.head_yaw_deg.item() == pytest.approx(np.degrees(0.5), abs=1e-3)


@pytest.mark.parametrize("point_set", ["ibug68", "mediapipe478"])
def test_inner_lips_part_with_the_jaw(openhead, point_set):
    """Opening the jaw 0.3 rad leaves the upper inner-lip points where they are and takes the
    lower ones down (each embedded on its own lip), so the fit can part the lips of a smile."""
    from headsmith.detect.point_sets import POINT_SETS
    from headsmith.headmodel import HeadPose

    ps, emb = POINT_SETS[point_set], openhead.landmark_set(point_set)
    pos = {int(k): i for i, k in enumerate(emb.detector_index())}
    pose = HeadPose.zeros(1)
    closed = openhead(pose=pose, embedding=emb).landmarks3d[0].detach().numpy()
    pose.jaw[0, 0] = 0.3
    opened = openhead(pose=pose, embedding=emb).landmarks3d[0].detach().numpy()
    a, b = (pos[k] for k in ps.outer_eye_corners)
    drop = (closed[:, 1] - opened[:, 1]) / np.linalg.norm(closed[a, :2] - closed[b, :2])
    upper, lower = ([pos[k] for k in side] for side in ps.inner_lips)
    assert drop[upper].max() < 0.03, drop[upper]
    assert drop[lower].min() > 0.10, drop[lower]
