"""Synthetic faces that detectors see as faces (issue 19): each landmark detector against the true
landmarks, and the fit it leads to.

    .venv/bin/python benchmarks/bench_synthetic_faces.py [--heads 16] [--detectors mediapipe,dlib]
        [--quality default] [--init auto|learned|search] [--sheet out/synthetic_faces.png]

A detector named truth:NAME (e.g. truth:mediapipe) runs NAME to find the face and then hands the
fit the true points of NAME's point set: the fit's floor with a perfect detector, which splits
the vertex error into what the detector costs and what the fit itself leaves. mediapipe@google
and mediapipe@openhead pick the face mesh's weights (the default for OpenHead: openhead).

Heads outside the fitting prior (bench_reconstruct.synthetic_case: shape at 1.3x the prior's
spread plus smooth offsets outside the basis, random expression, light and skin), dressed with
brows, lash lines, lips, cheeks, a hair cap, irises and a random background; yaw uniform in
+/-45 degrees, every fourth head with an open mouth (jaw 0.3..0.4 rad). Per head and detector:
the detected points' mean distance to the true ones (the model's embedding of that detector's
point set on the true head) over the true inter-ocular distance; after a reconstruction, the
fitted points' distance to the true ones, and the face-region vertex error after similarity
alignment (median, mm).
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import sys
import tempfile
from pathlib import Path
from unittest import mock

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_reconstruct import detector_settings, load_params, synthetic_case, true_points  # noqa: E402
from bench_render import machine, write_sheet  # noqa: E402

from headsmith.detect import make_detector  # noqa: E402
from headsmith.fit.metrics import aligned_vertex_error  # noqa: E402
from headsmith.headmodel import OpenHead  # noqa: E402
from headsmith.pipeline import ReconstructSettings, reconstruct  # noqa: E402


def case_params(k: int, rng: np.random.Generator) -> dict:
    return dict(yaw_deg=float(rng.uniform(-45, 45)), jaw=float(rng.uniform(0.3, 0.4)) if k % 4 == 3 else None,
                dressed=True)


class TruthPoints:
    """A detector that finds the face with the real one and reports the true points in its place
    (the oracle of truth:NAME); points the embedding lacks (MediaPipe's irises) stay detected."""

    def __init__(self, real, index: np.ndarray, true: np.ndarray):
        self.real, self.index, self.true = real, index, true
        self.name, self.point_set = real.name, real.point_set

    def detect(self, rgb: np.ndarray) -> list:
        return [dataclasses.replace(f, points=self._true(f.points)) for f in self.real.detect(rgb)[:1]]

    def _true(self, points: np.ndarray) -> np.ndarray:
        out = points.copy()
        out[self.index] = self.true
        return out


def measure(model, photo_path: Path, out: Path, detector: str, truth: dict, quality: str, face,
            init: str = "auto") -> dict:
    oracle = detector.startswith("truth:")
    chosen = detector_settings(detector.removeprefix("truth:"))
    name = chosen["landmarks"]
    settings = ReconstructSettings(**chosen, quality=quality, init=init)
    det = make_detector(name, mesh_weights=settings.mesh_choice())
    index, true, iod = true_points(model, det.point_set, truth)
    photo = cv2.cvtColor(cv2.imread(str(photo_path)), cv2.COLOR_BGR2RGB)
    found = det.detect(photo)
    r = {"detected": float("nan"), "fitted": float("nan"), "vertex": float("nan")}
    if not found:
        return {**r, "error": "no face found"}
    r["detected"] = 0.0 if oracle else float(np.linalg.norm(found[0].points[index] - true, axis=1).mean() / iod)
    swap = (mock.patch("headsmith.pipeline.stages.make_detector", lambda *_, **__: TruthPoints(det, index, true))
            if oracle else contextlib.nullcontext())
    try:
        with swap:
            reconstruct([photo_path], out, settings)
    except Exception as e:  # a failure is a result here
        return {**r, "error": str(e).splitlines()[0][:80]}
    meta, ph, shape, *_ = load_params(out)
    fitted = np.asarray(ph["landmarks_fitted"])
    r["fitted"] = float(np.linalg.norm(fitted - true, axis=1).mean() / iod)
    rest = model(shape=shape).vertices[0].detach().numpy()
    r["vertex"] = float(np.median(aligned_vertex_error(rest[face], truth["rest"][face]) * 1000))
    return r


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--heads", type=int, default=16)
    ap.add_argument("--detectors", default="mediapipe,dlib")
    ap.add_argument("--quality", default="default")
    ap.add_argument("--init", default="auto", help="the fit's start: auto, learned or search")
    ap.add_argument("--sheet", type=Path, default=Path("out/synthetic_faces.png"))
    a = ap.parse_args()
    model = OpenHead()
    face = (model.vertex_regions[model.region_names.index("face")] > 0).numpy()
    tmp = Path(tempfile.mkdtemp(prefix="hs-synth-"))
    detectors = a.detectors.split(",")
    res = {d: [] for d in detectors}
    thumbs = []
    print(f"machine: {machine()}; quality {a.quality}; init {a.init}")
    print(f"{'head':<5} {'yaw':>6} {'jaw':>5} " + " ".join(f"{d + ' det%':>14} {'fit%':>6} {'mm':>5}" for d in detectors))
    for k in range(a.heads):
        rng = np.random.default_rng(2000 + k)
        kw = case_params(k, rng)
        img, truth = synthetic_case(model, rng, **kw)
        p = tmp / f"h{k}.png"
        cv2.imwrite(str(p), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        thumbs.append(cv2.resize(img, (160, 160), interpolation=cv2.INTER_AREA))
        cells = []
        for d in detectors:
            r = measure(model, p, tmp / d.replace(":", "_") / f"h{k}", d, truth, a.quality, face, a.init)
            res[d].append(r)
            cells.append(f"{r['detected'] * 100:>14.2f} {r['fitted'] * 100:>6.2f} {r['vertex']:>5.2f}"
                         + (f"  ({r['error']})" if "error" in r else ""))
        print(f"{k:<5} {truth['yaw']:>+6.1f} {kw['jaw'] or 0:>5.2f} " + " ".join(cells), flush=True)
    for d in detectors:
        ok = [r for r in res[d] if np.isfinite(r["vertex"])]
        print(f"{d}: {len(ok)}/{a.heads} reconstructed; detected off the true median "
              f"{np.nanmedian([r['detected'] for r in res[d]]) * 100:.2f}%; fitted off the true median "
              f"{np.median([r['fitted'] for r in ok]) * 100:.2f}%, within 3 %: "
              f"{sum(r['fitted'] <= 0.03 for r in ok)}/{a.heads}; face vertex error median of medians "
              f"{np.median([r['vertex'] for r in ok]):.2f} mm")
    rows = [np.hstack(thumbs[i:i + 8] + [np.zeros_like(thumbs[0])] * (8 - len(thumbs[i:i + 8])))
            for i in range(0, len(thumbs), 8)]
    write_sheet(a.sheet, np.vstack(rows))
    print(f"the heads: {a.sheet}; bundles in {tmp}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
