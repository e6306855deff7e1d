"""Appearance figures (issue 20) of reconstructed bundles: how much the static relief copies the
albedo's edges, how much of the residual sits at its bound, and how seamless the whole-head
albedo is.

    .venv/bin/python benchmarks/bench_appearance.py [--bundles DIR] [--only NAME,...]
        [--before DIR] [--sheet out/appearance.png]

Without --bundles, reconstructs the real photos of real_photos.py (default quality, MediaPipe,
OpenHead) into a temporary folder first; with it, reads every bundle under DIR (e.g. the folder
bench_real_photos.py prints). Per bundle: the Pearson correlation between |grad displacement|
and |grad albedo luminance| over the face skin (issue 20: <= 0.25), and the share of the face's
residual texels at the bound (|r| >= 0.9 x RESIDUAL_MAX: its tanh saturated; issue 20: < 1 %), and
"band um": the residual's RMS in its 3-10 mm band (detail.metrics.mid_band_rms) over the face the
photo covered: the lumps and hatching shape from shading makes of blotches, noise and misfit. On
synthetic heads without fine relief (bench_delighting.py --no-bumps) all of it is false.
Albedo (bundles with coverage.png): Delta E of the mean colour just inside vs just outside the
coverage boundary on the skin (<= 3), of the scalp, ears and neck vs the cheeks (<= 5), and the
completed skin's grain over the photographed skin's beside it (>= 0.5), on plain skin (not the
brows, eyes, lips or nostrils, whose edges are features, not grain); "grain*" is the same over
all the skin, as measured before session 28; "grain~" the same as "grain" with the typical
texel's grain (texture.metrics.typical_fine_energy) in place of the RMS, which a few feature edges
and hole rims in the photographed band can set.
With --before (bundles of the same photos made by an earlier version), a side by side: per
photo, the neutral head at yaw 0, 45 and 90 degrees and the relief at a grazing light, before |
after.
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
from bench_render import machine, write_sheet  # noqa: E402
from real_photos import face_indices, fetch  # noqa: E402

from headsmith.bundle import read_bundle, read_detail_residual  # noqa: E402
from headsmith.bundle.io import decode_displacement  # noqa: E402
from headsmith.detail.metrics import mid_band_rms, relief_albedo_correlation, share_at_bound  # noqa: E402
from headsmith.detail.person import RESIDUAL_MAX  # noqa: E402
from headsmith.texture.metrics import boundary_delta_e, grain_ratio, tone_delta_e  # noqa: E402
from headsmith.headmodel import OpenHead  # noqa: E402
from headsmith.imageio.color import srgb_to_linear  # noqa: E402
from headsmith.pipeline import ReconstructSettings, reconstruct  # noqa: E402
from headsmith.texture.occlusion import skin_zones  # noqa: E402
from headsmith.uvspace import uv_support  # noqa: E402


def region_skin(model, size: int, *names: str) -> np.ndarray:
    """(S, S) bool: skin texels of the named regions, mouth interior excluded."""
    from headsmith.render import interpolate

    sup = uv_support(model, size)
    idx = [model.region_names.index(n) for n in names]
    rv = model.vertex_regions[idx].amax(0)[None, :, None].float()
    region = interpolate(sup.raster.fragments, model.faces, rv)[0, ..., 0].numpy() > 0.5
    return region & sup.skin.numpy() & sup.raster.mask.numpy()


def albedo_figures(model, folder: Path) -> dict:
    """Seam, whole-head tone and grain of the bundle's albedo (NaN without coverage.png)."""
    cov_png = cv2.imread(str(folder / "coverage.png"), cv2.IMREAD_GRAYSCALE)
    if cov_png is None:
        return {k: float("nan") for k in ("seam", "tone", "grain", "grain_all", "grain_typical")}
    srgb = cv2.cvtColor(cv2.imread(str(folder / "albedo.png")), cv2.COLOR_BGR2RGB).astype(np.float32) / 255
    S = srgb.shape[0]
    skin = region_skin(model, S, "face", "forehead", "nose", "cheeks", "chin", "neck", "ears", "scalp")
    cov = cov_png.astype(np.float32) / 255
    zones = skin_zones(model, S)
    plain = zones.plain.numpy()
    return {"seam": boundary_delta_e(srgb, cov, skin),
            "tone": tone_delta_e(srgb, region_skin(model, S, "scalp", "ears", "neck"), region_skin(model, S, "cheeks")),
            "grain": grain_ratio(srgb, cov, skin & plain), "grain_all": grain_ratio(srgb, cov, skin),
            "grain_typical": grain_ratio(srgb, cov, skin & plain, typical=True)}


def bundle_figures(model, folder: Path) -> dict:
    meta = read_bundle(folder)
    scale = meta["textures"]["displacement"]["scale_m"]
    disp = decode_displacement(cv2.imread(str(folder / "displacement.png"), cv2.IMREAD_UNCHANGED), scale)
    S = disp.shape[0]
    albedo = cv2.cvtColor(cv2.imread(str(folder / "albedo.png")), cv2.COLOR_BGR2RGB).astype(np.float32) / 255
    albedo = cv2.resize(albedo, (S, S), interpolation=cv2.INTER_AREA)
    lum = srgb_to_linear(albedo) @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    mask = region_skin(model, S, "face")
    out = {"corr": relief_albedo_correlation(disp, lum, mask)}
    res = read_detail_residual(folder, meta)
    out["bound"] = share_at_bound(res, RESIDUAL_MAX, mask, within=0.9) if res is not None else float("nan")
    cov = cv2.imread(str(folder / "coverage.png"), cv2.IMREAD_GRAYSCALE)
    seen = mask if cov is None else mask & (cv2.resize(cov, (S, S), interpolation=cv2.INTER_AREA) >= 128)
    out["band_um"] = mid_band_rms(res, seen) * 1e6 if res is not None else float("nan")
    out["p95_mm"] = float(np.percentile(np.abs(disp[mask]), 95) * 1000)
    return out | albedo_figures(model, folder)


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


def head_views(model, folder: Path, yaws=(0, 45, 90), size: int = 200) -> list[np.ndarray]:
    """The bundle's neutral head (fitted identity, albedo, neutral light) at each yaw, and its
    relief at a grazing light: uint8 RGB tiles."""
    import torch

    from headsmith.imageio.color import linear_to_srgb, to_uint8
    from headsmith.headmodel import HeadPose
    from headsmith.pictures.face_chart import FacePicture
    from headsmith.render import MeshRenderer, OrthographicCamera, default_light

    meta = read_bundle(folder)
    shape = torch.tensor(meta["parameters"]["shape"])[None]
    srgb = cv2.cvtColor(cv2.imread(str(folder / "albedo.png")), cv2.COLOR_BGR2RGB)
    tex = srgb_to_linear(torch.tensor(srgb, dtype=torch.float32) / 255).permute(2, 0, 1)[None]
    rr = MeshRenderer(model.faces, model.uv_layout.uv, model.uv_layout.faces)
    tiles = []
    for yaw in yaws:
        pose = HeadPose.zeros(1)
        pose.global_rot[0, 1] = np.radians(yaw)
        with torch.no_grad():
            v = model(shape=shape, pose=pose).vertices
            r = rr.render(v, OrthographicCamera(torch.tensor([[6.0, 0.0, 0.03]])), (size, size),
                          light=default_light(), texture=tex, background=0.05)
        tiles.append(to_uint8(linear_to_srgb(r.image[0])))
    scale = meta["textures"]["displacement"]["scale_m"]
    disp = decode_displacement(cv2.imread(str(folder / "displacement.png"), cv2.IMREAD_UNCHANGED), scale)
    g = FacePicture(model, disp.shape[0]).grazing(disp.astype(np.float32))
    g = cv2.resize(g, (size, size), interpolation=cv2.INTER_LINEAR)
    return tiles + [np.repeat(g[..., None], 3, 2)]


def side_by_side(model, before: dict, after: list[Path], out: Path) -> None:
    """Per photo: before | after, each the neutral head at yaw 0, 45, 90 and the relief."""
    rows = []
    for f in after:
        if f.name not in before:
            continue
        b, a = head_views(model, before[f.name]), head_views(model, f)
        row = np.concatenate(b + [np.full((b[0].shape[0], 8, 3), 255, np.uint8)] + a, 1)
        cv2.putText(row, f"{f.name}: before | after", (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 0), 1)
        rows.append(row)
    if rows:
        write_sheet(out, np.concatenate(rows, 0))
        print(f"side by side: {out}")


def _summary(rows: list[dict]) -> str:
    bands = [r["band_um"] for r in rows if np.isfinite(r["band_um"])]

    def share(key, ok):
        vals = [r[key] for r in rows if np.isfinite(r[key])]
        if not vals:
            return f"{key}: no figures"
        return f"{key}: {sum(ok(v) for v in vals)}/{len(vals)} (median {statistics.median(vals):.3g})"

    return "; ".join([share("corr", lambda v: v <= 0.25), share("bound", lambda v: v < 0.01),
                      share("seam", lambda v: v <= 3), share("tone", lambda v: v <= 5),
                      share("grain", lambda v: v >= 0.5), share("grain_all", lambda v: v >= 0.5),
                      share("grain_typical", lambda v: v >= 0.5),
                      f"band median {statistics.median(bands):.1f} um" if bands else "band: no figures"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bundles", type=Path)
    ap.add_argument("--only", default="")
    ap.add_argument("--before", type=Path, help="bundles of the same photos by an earlier version")
    ap.add_argument("--sheet", type=Path, default=Path("out/appearance.png"))
    a = ap.parse_args()
    only = {s for s in a.only.split(",") if s}
    model = OpenHead()
    if a.bundles:
        folders = sorted(p.parent for p in a.bundles.rglob("bundle.json") if not only or p.parent.name in only)
    else:
        folders = reconstruct_photos(Path(tempfile.mkdtemp(prefix="hs-appearance-")), only)
        print(f"bundles: {folders[0].parent if folders else '-'}")
    print(f"machine: {machine()}")
    print(f"{'bundle':<36} {'corr':>6} {'bound%':>7} {'p95 mm':>7} {'seam dE':>8} {'tone dE':>8} {'grain':>6} {'grain*':>6} {'grain~':>6} {'band um':>8}")
    rows = []
    for f in folders:
        r = bundle_figures(model, f)
        rows.append(r)
        print(f"{f.name:<36} {r['corr']:>6.2f} {r['bound'] * 100:>7.2f} {r['p95_mm']:>7.3f} {r['seam']:>8.2f} "
              f"{r['tone']:>8.2f} {r['grain']:>6.2f} {r['grain_all']:>6.2f} {r['grain_typical']:>6.2f} {r['band_um']:>8.1f}")
    print(f"{len(rows)} bundles: " + _summary(rows))
    if a.before:
        before = {p.parent.name: p.parent for p in a.before.rglob("bundle.json")}
        side_by_side(model, before, folders, a.sheet)


if __name__ == "__main__":
    main()
