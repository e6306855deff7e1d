"""Appearance figures (issue 20) of reconstructed bundles: how much the static relief copies the
albedo's edges, and how much of the residual sits at its bound.

    .venv/bin/python benchmarks/bench_appearance.py [--bundles DIR] [--only NAME,...]

Without --bundles, reconstructs the real photos of real_photos.py (default quality, MediaPipe,
OpenHead) into a temporary folder first; with it, reads every bundle under DIR (e.g. the folder
bench_real_photos.py prints). Per bundle: the Pearson correlation between |grad displacement|
and |grad albedo luminance| over the face skin (issue 20: <= 0.25), and the share of the face's
residual texels at the bound (|r| >= 0.9 x RESIDUAL_MAX: its tanh saturated; issue 20: < 1 %).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_render import machine  # noqa: E402
from real_photos import face_indices, fetch  # noqa: E402

from headsmith.bundle import read_bundle, read_detail_residual  # noqa: E402
from headsmith.bundle.io import decode_displacement  # noqa: E402
from headsmith.detail.metrics import relief_albedo_correlation, share_at_bound  # noqa: E402
from headsmith.detail.person import RESIDUAL_MAX  # noqa: E402
from headsmith.headmodel import OpenHead  # noqa: E402
from headsmith.imageio.color import srgb_to_linear  # noqa: E402
from headsmith.pipeline import ReconstructSettings, reconstruct  # noqa: E402
from headsmith.uvspace import uv_support  # noqa: E402


def face_skin(model, size: int) -> np.ndarray:
    """(S, S) bool: face-region skin texels, mouth interior excluded."""
    from headsmith.render import interpolate

    sup = uv_support(model, size)
    fv = model.vertex_regions[model.region_names.index("face")][None, :, None].float()
    face = interpolate(sup.raster.fragments, model.faces, fv)[0, ..., 0].numpy() > 0.5
    return face & (sup.part == 0).numpy() & ~sup.mouth_interior.numpy() & sup.raster.mask.numpy()


def bundle_figures(model, folder: Path) -> dict:
    meta = read_bundle(folder)
    scale = meta["textures"]["displacement"]["scale_m"]
    disp = decode_displacement(cv2.imread(str(folder / "displacement.png"), cv2.IMREAD_UNCHANGED), scale)
    S = disp.shape[0]
    albedo = cv2.cvtColor(cv2.imread(str(folder / "albedo.png")), cv2.COLOR_BGR2RGB).astype(np.float32) / 255
    albedo = cv2.resize(albedo, (S, S), interpolation=cv2.INTER_AREA)
    lum = srgb_to_linear(albedo) @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    mask = face_skin(model, S)
    out = {"corr": relief_albedo_correlation(disp, lum, mask)}
    res = read_detail_residual(folder, meta)
    out["bound"] = share_at_bound(res, RESIDUAL_MAX, mask, within=0.9) if res is not None else float("nan")
    out["p95_mm"] = float(np.percentile(np.abs(disp[mask]), 95) * 1000)
    return out


def reconstruct_photos(tmp: Path, only: set) -> list[Path]:
    photos = fetch()
    folders = []
    for name, path in photos.items():
        if only and name not in only:
            continue
        out = tmp / name
        reconstruct([path], out, ReconstructSettings(face_index=face_indices().get(name, 0)))
        folders.append(out)
    return folders


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bundles", type=Path)
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    only = {s for s in a.only.split(",") if s}
    model = OpenHead()
    if a.bundles:
        folders = sorted(p.parent for p in a.bundles.rglob("bundle.json") if not only or p.parent.name in only)
    else:
        folders = reconstruct_photos(Path(tempfile.mkdtemp(prefix="hs-appearance-")), only)
    print(f"machine: {machine()}")
    print(f"{'bundle':<36} {'corr':>6} {'bound%':>7} {'p95 mm':>7}")
    rows = []
    for f in folders:
        r = bundle_figures(model, f)
        rows.append(r)
        print(f"{f.name:<36} {r['corr']:>6.2f} {r['bound'] * 100:>7.2f} {r['p95_mm']:>7.3f}")
    corr = [r["corr"] for r in rows]
    print(f"{len(rows)} bundles: relief-albedo correlation <= 0.25: {sum(c <= 0.25 for c in corr)}/{len(rows)} "
          f"(median {statistics.median(corr):.2f}, max {max(corr):.2f}); residual at the bound < 1 %: "
          f"{sum(r['bound'] < 0.01 for r in rows)}/{len(rows)} (median {statistics.median(r['bound'] for r in rows) * 100:.2f} %)")


if __name__ == "__main__":
    main()
