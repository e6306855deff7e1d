"""Video tracking (issue 22, item 2): a synthetic performance with known per-frame parameters
(synthetic_video.py: still, brows up, smile, head turn +-25 deg, jaw open, frown + blink) written
as an .avi, tracked with the true identity as the avatar's, against the truth.

    .venv/bin/python benchmarks/bench_track.py [--segment-frames 20] [--quality fast] [--runs 3] [--init search] [--raw]
        [--expressions auto|blendshapes|fit]

Prints per run and the median: frames per second (landmarks + fit), the expression RMSE over the
fitted ARKit weights (and that of an all-zero guess), each segment's peak weight found vs true,
head rotation error (yaw, pitch, roll, mean degrees), jaw error (rad), and the jitter on the still
segment (mean frame-to-frame change: ARKit units and degrees).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_render import machine  # noqa: E402
from synthetic_video import FPS, render_video, write_video  # noqa: E402

from headsmith.detect import make_detector  # noqa: E402
from headsmith.fit.terms import fitted_expressions  # noqa: E402
from headsmith.headmodel import OpenHead  # noqa: E402
from headsmith.track import track_frames  # noqa: E402
from headsmith.track.tracker import euler_yaw_pitch_roll  # noqa: E402
from headsmith.track.video import read_video  # noqa: E402

PEAKS = {"brows": "browInnerUp", "smile": "mouthSmileLeft", "frown": "browDownLeft"}


def measure(model, video: Path, truth: dict, quality: str, init: str = "search",
            calibrate: bool = True, expressions: str = "auto") -> dict:
    frames, fps, _ = read_video(video)
    t = time.perf_counter()
    tr = track_frames(model, frames, truth["shape"], make_detector("mediapipe"), fps, quality, init=init,
                      calibrate=calibrate, expressions=expressions)
    seconds = time.perf_counter() - t
    names = model.expression_names
    fitted = fitted_expressions(names)
    err = tr.expression[:, fitted] - truth["expression"][:, fitted]
    still = truth["segment"] == "still"
    rot_true = euler_yaw_pitch_roll(truth["rotation"])
    row = {"fps": len(tr.found) / seconds, "found": int(tr.found.sum()), "frames": len(tr.found),
           "expr_rmse": float(np.sqrt((err ** 2).mean())),
           "zero_rmse": float(np.sqrt((truth["expression"][:, fitted] ** 2).mean())),
           "rot_err_deg": np.degrees(np.abs(tr.head - rot_true)).mean(0),
           "jaw_err": float(np.abs(tr.jaw[:, 0] - truth["jaw"][:, 0]).mean()),
           "jitter_expr": float(np.abs(np.diff(tr.expression[still][:, fitted], axis=0)).mean()),
           "jitter_deg": float(np.degrees(np.abs(np.diff(tr.head[still], axis=0))).mean())}
    for seg, key in PEAKS.items():
        sel, k = truth["segment"] == seg, names.index(key)
        row[f"peak_{seg}"] = (float(tr.expression[sel, k].max()), float(truth["expression"][sel, k].max()))
    return row


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--segment-frames", type=int, default=20)
    ap.add_argument("--quality", default="fast")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--init", default="search", help="each chunk's start: search or learned")
    ap.add_argument("--raw", action="store_true", help="expression weights without the take's neutral calibration")
    ap.add_argument("--expressions", default="auto", help="the weights' source: auto, blendshapes or fit")
    a = ap.parse_args()
    model = OpenHead()
    frames, truth = render_video(model, seed=0, frames_per_segment=a.segment_frames)
    with tempfile.TemporaryDirectory() as tmp:
        video = write_video(frames, Path(tmp) / "performance.avi")
        rows = [measure(model, video, truth, a.quality, a.init, not a.raw, a.expressions) for _ in range(a.runs)]
    print(f"machine: {machine()}")
    print(f"{len(frames)} frames at {FPS:.0f} fps, quality {a.quality}, {a.runs} runs, expressions {a.expressions}")
    r = rows[-1]
    print(f"frames per second (median)        {statistics.median(x['fps'] for x in rows):8.1f}   (target >= 5)")
    print(f"faces found                        {r['found']}/{r['frames']}")
    print(f"expression RMSE (fitted keys)      {r['expr_rmse']:8.3f}   (all-zero guess {r['zero_rmse']:.3f})")
    for seg in PEAKS:
        got, want = r[f"peak_{seg}"]
        print(f"peak {PEAKS[seg]:<29} {got:8.2f}   (true {want:.2f})")
    print(f"head rotation error yaw/pitch/roll {' '.join(f'{v:.2f}' for v in r['rot_err_deg'])} deg")
    print(f"jaw opening error                  {r['jaw_err']:8.3f} rad")
    print(f"jitter on the still segment        {r['jitter_expr']:8.4f} ARKit units, {r['jitter_deg']:.3f} deg per frame")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
