"""Acceptance: dlib's 68-point predictor on OpenHead renders lands on the model's own projected
landmarks (mean over the 68 points, normalised by the inter-ocular distance)."""
import numpy as np
import pytest

from headsmith.pictures.contact_sheet import Tile, render_tile
from headsmith.render import MeshRenderer


def _error(openhead, dlib68, tile, size=512):
    img, lmk = render_tile(openhead, MeshRenderer(openhead.faces), tile, size)
    faces = dlib68.detect(img)
    assert faces, f"dlib found no face on the {tile.label} render"
    det = faces[0].points
    iod = np.linalg.norm(lmk[36] - lmk[45])
    return np.linalg.norm(det - lmk, axis=1).mean() / iod


def test_frontal_neutral_within_4_percent(openhead, dlib68):
    assert _error(openhead, dlib68, Tile("neutral")) < 0.04


@pytest.mark.parametrize("yaw", [-30.0, 30.0])
def test_turned_head_within_6_percent(openhead, dlib68, yaw):
    assert _error(openhead, dlib68, Tile(f"yaw {yaw}", yaw_deg=yaw)) < 0.06


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
