"""Acceptance of the dense embedding (assets/openhead/mediapipe478.npz): MediaPipe's face mesh
on OpenHead renders lands on the model's own projected points (mean over the 468 mesh points,
over the inter-ocular distance), and the face oval slides with yaw."""
import numpy as np
import pytest
import torch

from headsmith.detect.mediapipe478 import FACE_OVAL, MediaPipe478
from headsmith.pictures.contact_sheet import Tile, render_tile
from headsmith.render import MeshRenderer


@pytest.fixture(scope="module")
def mediapipe():
    return MediaPipe478()


def _error(openhead, mediapipe, tile, size=512):
    emb = openhead.landmark_set("mediapipe478")
    img, lmk = render_tile(openhead, MeshRenderer(openhead.faces), tile, size, embedding=emb)
    faces = mediapipe.detect(img)
    assert faces, f"no face found on the {tile.label} render"
    det = faces[0].points[emb.detector_index().numpy()]
    return np.linalg.norm(det - lmk, axis=1).mean() / faces[0].interocular


def test_frontal_neutral_within_3_percent(openhead, mediapipe):
    assert _error(openhead, mediapipe, Tile("neutral")) < 0.03


@pytest.mark.parametrize("yaw", [-30.0, 30.0])
def test_turned_head_within_6_percent(openhead, mediapipe, yaw):
    assert _error(openhead, mediapipe, Tile(f"yaw {yaw}", yaw_deg=yaw)) < 0.06


def test_every_mesh_point_embedded_once_with_the_oval_as_contour(openhead):
    emb = openhead.landmark_set("mediapipe478")
    index = emb.detector_index().tolist()
    assert sorted(index) == list(range(468))
    assert index[:emb.contour_faces.shape[1]] == list(FACE_OVAL)
    rows = emb.contour_row(torch.tensor([-30.0, 0.0, 30.0]))
    assert len(set(rows.tolist())) == 3
    assert not torch.equal(emb.contour_faces[rows[0]], emb.contour_faces[rows[2]])
