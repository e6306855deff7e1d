"""Landmark detectors on OpenHead renders and their speed.

    .venv/bin/python benchmarks/bench_landmarks.py [--runs 20]

1. Each detector (MediaPipe's dense mesh, dlib's 68 points) on 512 px renders of the mean
   neutral head at yaws -45..45: mean distance to the model's own projected points of that
   detector's embedding, over the inter-ocular distance, split into contour and inner points.
   Same renders as tests/headmodel/test_landmark_embeddings.py.
2. Time per face on the astronaut (512 x 512), median of --runs: dlib's face box alone, then
   each detector's landmarks given the box (MediaPipe: two mesh passes and both irises).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_render import machine  # noqa: E402

from headsmith.detect import Dlib68, make_detector  # noqa: E402
from headsmith.detect.point_sets import POINT_SETS  # noqa: E402
from headsmith.headmodel import OpenHead  # noqa: E402
from headsmith.pictures.contact_sheet import Tile, render_tile  # noqa: E402
from headsmith.render import MeshRenderer  # noqa: E402


def on_renders(model, name: str) -> None:
    det = make_detector(name)
    ps = POINT_SETS[det.point_set]
    emb = model.landmark_set(ps.name)
    index, C = emb.detector_index().numpy(), emb.contour_faces.shape[1]
    renderer = MeshRenderer(model.faces)
    print(f"\n{name} ({ps.name}, {len(index)} points embedded)")
    print(f"{'yaw':>5} {'mean / IOD':>11} {'contour':>8} {'inner':>7}")
    for yaw in (-45, -30, -15, 0, 15, 30, 45):
        img, lmk = render_tile(model, renderer, Tile(f"yaw {yaw}", yaw_deg=yaw), 512, embedding=emb)
        faces = det.detect(img)
        if not faces:
            print(f"{yaw:>+5}  no face found")
            continue
        e = np.linalg.norm(faces[0].points[index] - lmk, axis=1) / faces[0].interocular * 100
        print(f"{yaw:>+5} {e.mean():>10.2f}% {e[:C].mean():>7.2f}% {e[C:].mean():>6.2f}%")


def timings(runs: int) -> None:
    import skimage.data

    img = skimage.data.astronaut()
    boxes = Dlib68(upsample=1)
    box = boxes.boxes(img)[0].box

    def median_ms(fn) -> float:
        fn()                                  # warm: sessions, caches
        ts = []
        for _ in range(runs):
            t = time.perf_counter()
            fn()
            ts.append((time.perf_counter() - t) * 1000)
        return statistics.median(ts)

    mp, dl = make_detector("mediapipe"), make_detector("dlib")
    import dlib

    rect = dlib.rectangle(*box)
    print(f"\ntime per face on the astronaut, median of {runs} (ms)")
    print(f"{'dlib face box (HOG)':<44} {median_ms(lambda: boxes.boxes(img)):>7.1f}")
    print(f"{'mediapipe landmarks (2 mesh passes + irises)':<44} {median_ms(lambda: mp.landmarks(img, box)):>7.1f}")
    print(f"{'dlib 68 landmarks':<44} {median_ms(lambda: dl._predictor(img, rect)):>7.1f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=20)
    a = ap.parse_args()
    print(f"machine: {machine()}")
    model = OpenHead()
    for name in ("mediapipe", "dlib"):
        on_renders(model, name)
    timings(a.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
