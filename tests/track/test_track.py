"""`headsmith track`: a synthetic performance (known per-frame parameters, benchmarks/synthetic_video)
written as a video, tracked with the performer's identity, out as a Live Link Face take that the
extension reads back: the head turn and the jaw follow the truth, a still face stays still, bad
input exits 2."""
import numpy as np
import pytest

from headsmith.cli import main
from headsmith_blender.core.live_link import read_live_link
from tests.conftest import PERFORMANCE_SEGMENT as SEG


def test_track_command_writes_a_take_that_follows_the_head(performance, tmp_path, capsys):
    video, bundle, truth = performance
    out = tmp_path / "take.csv"
    assert main(["track", str(video), "--avatar", str(bundle), "-o", str(out)]) == 0
    assert f"tracked {6 * SEG} frames" in capsys.readouterr().out
    take = read_live_link(out)
    assert take.rows == 6 * SEG and take.timecode_rate == 30 and take.rate == pytest.approx(30, rel=1e-3)
    seg = truth["segment"]
    turn = take.head[seg == "turn", 0]
    true_turn = truth["rotation"][seg == "turn", 1]
    assert np.degrees(np.abs(turn - true_turn)).mean() < 5.0           # yaw within a few degrees
    assert turn.max() > np.radians(15) and turn.min() < -np.radians(15)
    jaw = take.curves["jawOpen"]
    assert jaw[seg == "jaw"].max() > 0.4 and jaw[seg == "still"].max() < 0.15
    still = take.head[seg == "still"]
    assert np.degrees(np.abs(np.diff(still, axis=0))).mean() < 0.2    # a still face stays still


def test_neutral_calibration_removes_a_steady_bias_and_keeps_expressions():
    """The reference is the frames the fit finds least expressive: a key held through most of the
    take (a bias the blendshape model reads on this face) goes, a smile stays."""
    from headsmith.track.tracker import NEUTRAL_MIN_FRAMES, neutral_calibrated, neutral_frames

    t = np.arange(60)
    smile = (t > 20) & (t < 30)
    fitted = np.stack([0.05 * (t % 7 == 0), 0.6 * smile], 1)           # the fit: quiet but for the smile
    read = np.stack([np.where(smile, 0.1, 0.5), 0.3 + 0.6 * smile], 1)  # a pucker bias the smile hides; a smile
    neutral = neutral_frames(fitted)
    assert len(neutral) == 6 and not smile[neutral].any()
    out = neutral_calibrated(read, neutral)
    assert np.allclose(out[~smile, 0], 0) and np.allclose(out[:, 1], 0.6 * smile)
    short = read[:NEUTRAL_MIN_FRAMES - 1]
    assert np.array_equal(neutral_calibrated(short, neutral), short)    # too short to know its neutral


def test_tracked_expressions_beat_guessing_zero(performance):
    """MediaPipe's blendshape model with the fit's neutral frames: the weights are nearer the truth
    than an all-zero guess by a tenth (the fit's own weights were not; benchmarks/NOTES.md), the
    smile and the blink peak in their segments and stay off the still face."""
    from headsmith.detect import make_detector
    from headsmith.fit.terms import fitted_expressions
    from headsmith.headmodel import OpenHead
    from headsmith.track import track_frames
    from headsmith.track.video import read_video

    video, _, truth = performance
    model = OpenHead()
    frames, fps, _ = read_video(video)
    track = track_frames(model, frames, truth["shape"], make_detector("mediapipe"), fps)
    names, keys, seg = list(model.expression_names), fitted_expressions(model.expression_names), truth["segment"]
    rmse = np.sqrt(((track.expression[:, keys] - truth["expression"][:, keys]) ** 2).mean())
    assert rmse < 0.9 * np.sqrt((truth["expression"][:, keys] ** 2).mean())
    for segment, key in (("smile", "mouthSmileLeft"), ("smile", "mouthSmileRight"), ("frown", "eyeBlinkLeft")):
        w = track.expression[:, names.index(key)]
        assert w[seg == segment].max() > 0.3 and w[seg == "still"].max() < 0.1, key


def test_track_refuses_bad_input(performance, tmp_path, capsys):
    _, bundle, _ = performance
    assert main(["track", str(tmp_path / "missing.mp4"), "--avatar", str(bundle), "-o", str(tmp_path / "t.csv")]) == 2
    assert "no such video file" in capsys.readouterr().err
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video" * 100)
    assert main(["track", str(junk), "--avatar", str(bundle), "-o", str(tmp_path / "t.csv")]) == 2
    assert "not a video OpenCV can read" in capsys.readouterr().err
    assert main(["track", str(junk), "--avatar", str(tmp_path), "-o", str(tmp_path / "t.csv")]) == 2
    assert "neither an avatar folder" in capsys.readouterr().err and not (tmp_path / "t.csv").exists()


def test_expression_source_is_checked_before_any_work(openhead):
    """'blendshapes' needs MediaPipe's points; an unknown source is refused by name."""
    from headsmith.detect import make_detector
    from headsmith.track import TrackError, track_frames

    shape = np.zeros(openhead.n_shape)
    with pytest.raises(TrackError, match="'blendshapes' needs MediaPipe's"):
        track_frames(openhead, [], shape, make_detector("dlib"), 30.0, expressions="blendshapes")
    with pytest.raises(TrackError, match="got 'landmarks'"):
        track_frames(openhead, [], shape, make_detector("mediapipe"), 30.0, expressions="landmarks")
