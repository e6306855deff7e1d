"""Several photos with another exposure or white balance (issue 20, item 1): does the merged head
keep the first photo's colour?

    .venv/bin/python benchmarks/bench_equalise.py [--heads 3] [--gain 1.4,1.15,0.8]

Per head (bench_reconstruct.synthetic_case, dressed; seeds 5000 on): two photos of the same head
at yaw -25 and +25 degrees, reconstructed together twice, once as rendered and once with the
second photo's linear colours times the gain (a warmer, brighter shot). Delta E between the two
merged albedos' median Lab colours over the skin the photos covered, over the whole face and each
half (the halves are where one photo or the other dominates the merge): 0 when the second photo's
white balance leaves the head as it was. Also the gains bundle.json records for the shifted pair.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_reconstruct import synthetic_case  # noqa: E402
from bench_render import machine  # noqa: E402

from headsmith.bundle import read_bundle  # noqa: E402
from headsmith.headmodel import OpenHead  # noqa: E402
from headsmith.imageio.color import linear_to_srgb, srgb_to_linear, to_uint8  # noqa: E402
from headsmith.pipeline import ReconstructSettings, reconstruct  # noqa: E402
from headsmith.render import interpolate  # noqa: E402
from headsmith.render.uv import world_to_uv  # noqa: E402
from headsmith.texture.metrics import to_lab  # noqa: E402
from headsmith.uvspace import uv_support  # noqa: E402

YAWS = (-25.0, 25.0)


def regions(model, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(face skin (S, S) bool, x (S, S) of the neutral template: + the subject's left)."""
    sup = uv_support(model, size)
    face_v = model.vertex_regions[model.region_names.index("face")][None, :, None].float()
    face = interpolate(sup.raster.fragments, model.faces, face_v)[0, ..., 0].numpy() > 0.5
    x = world_to_uv(sup.raster, model.v_template.float()[None])[0, ..., 0].numpy()
    return face & sup.skin.numpy(), x


def pair_colours(model, photos: list[np.ndarray], out: Path) -> tuple[list[np.ndarray], list]:
    """Reconstruct the photos together into out; -> (median Lab of the covered face skin: whole,
    left half, right half; the recorded colour gains)."""
    paths = []
    for i, img in enumerate(photos):
        paths.append(out.with_name(f"{out.name}_{i}.png"))
        cv2.imwrite(str(paths[-1]), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    reconstruct(paths, out, ReconstructSettings())
    albedo = cv2.cvtColor(cv2.imread(str(out / "albedo.png")), cv2.COLOR_BGR2RGB).astype(np.float32) / 255
    S = albedo.shape[0]
    skin, x = regions(model, S)
    skin &= cv2.imread(str(out / "coverage.png"), cv2.IMREAD_GRAYSCALE) >= 128
    lab = to_lab(albedo)
    colours = [np.median(lab[m], 0) for m in (skin, skin & (x > 0.015), skin & (x < -0.015))]
    return colours, [p["colour_gain"] for p in read_bundle(out)["parameters"]["photos"]]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--heads", type=int, default=3)
    ap.add_argument("--gain", default="1.4,1.15,0.8", help="linear gain per channel on the second photo")
    a = ap.parse_args()
    gain = np.array([float(v) for v in a.gain.split(",")])
    model = OpenHead()
    tmp = Path(tempfile.mkdtemp(prefix="hs-equalise-"))
    print(f"machine: {machine()}; default quality; second photo x {gain}")
    print(f"{'head':<5} {'dE whole':>9} {'left':>6} {'right':>6}  recorded colour_gain (first; second)")
    whole = []
    for k in range(a.heads):
        seed = 5000 + k
        shots = [synthetic_case(model, np.random.default_rng(seed), yaw_deg=y, dressed=True)[0] for y in YAWS]
        warm = to_uint8(linear_to_srgb(np.clip(srgb_to_linear(shots[1].astype(np.float32) / 255) * gain, 0, 1)))
        same, _ = pair_colours(model, shots, tmp / f"h{k}_same")
        shifted, gains = pair_colours(model, [shots[0], warm], tmp / f"h{k}_warm")
        d = [float(np.linalg.norm(s - t)) for s, t in zip(shifted, same)]
        whole.append(d[0])
        print(f"{k:<5} {d[0]:>9.2f} {d[1]:>6.2f} {d[2]:>6.2f}  {gains[0]}; {gains[1]}", flush=True)
    print(f"Delta E median {np.median(whole):.2f}, max {np.max(whole):.2f}; bundles in {tmp}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
