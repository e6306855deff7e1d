"""The shipped learned initialiser (assets/init): from a head's own dense landmarks it guesses the
head's turn and jaw, and the fit that starts there reaches a closer landmark fit in the same few
steps than the yaw search does; a missing network is a clear error."""
import numpy as np
import pytest
import torch

from headsmith.fit.coarse import QUALITY, FitSettings, Observation, fit_coarse
from headsmith.headmodel import HeadPose

CROP = 256


def synthetic_observation(model, shape, expression, jaw, rot, s=2.4):
    """MediaPipe's 478 points of a posed OpenHead in a CROP-pixel crop (orthographic, scale s)."""
    emb = model.landmark_set("mediapipe478")
    pose = HeadPose(rot, torch.zeros(1, 3), jaw, torch.zeros(1, 3), torch.zeros(1, 3))
    with torch.no_grad():
        xy = model.forward_landmarks(shape, expression, pose, embedding=emb)[0, :, :2].numpy() * s
    pts = np.zeros((478, 2), np.float32)
    pts[emb.detector_index().numpy()] = np.stack([(xy[:, 0] + 1) * CROP / 2, (1 - xy[:, 1]) * CROP / 2], 1)
    return Observation(np.zeros((CROP, CROP, 3), np.uint8), pts, None, "mediapipe478")


@pytest.fixture(scope="module")
def heads(openhead):
    g = torch.Generator().manual_seed(3)
    out = []
    for yaw, pitch, jaw_open in [(-35, 5, 0.0), (-15, -10, 0.25), (0, 0, 0.0), (20, 10, 0.3), (40, -5, 0.1)]:
        shape = torch.randn(1, openhead.n_shape, generator=g) * 0.8
        expr = torch.zeros(1, openhead.n_expression)
        jaw = torch.tensor([[jaw_open, 0.0, 0.0]])
        rot = torch.tensor([[np.radians(pitch), np.radians(yaw), 0.0]], dtype=torch.float32)
        out.append((synthetic_observation(openhead, shape, expr, jaw, rot), rot, jaw))
    return out


def test_learned_start_guesses_the_turn_and_jaw(openhead, heads):
    from headsmith.fit.learned_init import learned_init

    QUALITY["guess"] = dict(rigid=0, landmark=0, photo=0, polish=0, gaze=0, size=160)
    try:
        for obs, rot, jaw in heads:
            f = fit_coarse(openhead, [obs], FitSettings(quality="guess", init="learned"))
            assert np.degrees((f.pose.global_rot - rot).abs().max()) < 6.0
            assert abs(float(f.pose.jaw[0, 0] - jaw[0, 0])) < 0.1
    finally:
        del QUALITY["guess"]
    assert learned_init().record["command"].startswith("headsmith-train init")   # how it was made


def test_learned_start_needs_fewer_steps(openhead, heads):
    QUALITY["short"] = dict(rigid=0, landmark=60, photo=0, polish=0, gaze=0, size=160)
    try:
        err = {init: np.median([float(fit_coarse(openhead, [obs], FitSettings(quality="short", init=init))
                                      .landmark_error[0]) for obs, _, _ in heads]) for init in ("learned", "search")}
        full = np.median([float(fit_coarse(openhead, [obs], FitSettings(quality="fast", init="search"))
                                .landmark_error[0]) for obs, _, _ in heads])
    finally:
        del QUALITY["short"]
    assert err["learned"] < 0.8 * err["search"], err
    assert err["learned"] <= full * 1.1, (err, full)     # 60 steps from the network ~ the search's 130


def test_missing_network_is_a_clear_error(tmp_path):
    from headsmith.fit.learned_init import LearnedInit
    from headsmith.headmodel.base import ModelFileError

    with pytest.raises(ModelFileError, match="--init search"):
        LearnedInit(tmp_path / "none.onnx")
