"""De-lighting (issue 20): synthetic heads under a strong key light from one side, with cast
shadows and a specular highlight; is the albedo as good in the lit half as in the shadowed one?

    .venv/bin/python benchmarks/bench_delighting.py [--heads 6] [--sheet out/delighting.png]

Heads as bench_reconstruct.synthetic_case (outside the prior, dressed so detectors see faces,
yaw within +/-15 degrees) relit by `key_light`: a directional key 60 degrees to one side (the
side alternates) and 20 degrees up, shadowed by the head itself (a depth map rendered from the
light), a dim ambient, and a white Blinn-Phong highlight. Per head, the mean absolute albedo
error (linear, one scale per channel over the face as bench_reconstruct.albedo_error) over the
face skin the photo saw (coverage >= 0.5), in the lit half (the key's side of the face: x of the
neutral template) and in the shadowed half, and their ratio (issue: within 1.2). The sheet, a
row per head: photo | albedo | true albedo (the face chart).
"""
from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as Fn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_reconstruct import synthetic_case  # noqa: E402
from bench_render import machine, write_sheet  # noqa: E402

from headsmith.headmodel import OpenHead  # noqa: E402
from headsmith.imageio.color import srgb_to_linear  # noqa: E402
from headsmith.pipeline import ReconstructSettings, reconstruct  # noqa: E402
from headsmith.render import MeshRenderer, OrthographicCamera, interpolate  # noqa: E402
from headsmith.render.uv import world_to_uv  # noqa: E402
from headsmith.render.shadow import rotation_to_z  # noqa: E402
from headsmith.uvspace import uv_support  # noqa: E402

KEY, AMBIENT, SPECULAR, SHININESS = 1.7, 0.2, 0.35, 60.0
SHADOW_MAP, SHADOW_BIAS_M = 1024, 0.002


def key_light(side: float):
    """A relight for synthetic_case: key from the camera's right (side +1) or left (-1)."""
    el, az = math.radians(20), math.radians(60) * side
    light = torch.tensor([math.sin(az) * math.cos(el), math.sin(el), math.cos(az) * math.cos(el)])

    def relight(model, verts, cam, r):
        faces = model.faces
        P = interpolate(r.fragments, faces, verts)[0]                       # (H, W, 3) world
        N = Fn.normalize(r.normals[0], dim=-1)
        R = rotation_to_z(light)
        lcam = OrthographicCamera(torch.tensor([[float(cam.cam[0, 0]) * 0.8, 0.0, 0.0]]))
        lit_view = MeshRenderer(faces).render(verts @ R.T, lcam, (SHADOW_MAP, SHADOW_MAP))
        depth = lit_view.fragments.depth[0].clone()
        depth[~torch.isfinite(depth)] = 1e9
        q = lcam.project((P.reshape(1, -1, 3) @ R.T), SHADOW_MAP, SHADOW_MAP)[0]
        grid = (q[:, :2] / SHADOW_MAP * 2 - 1).reshape(1, -1, 1, 2)
        d_at = Fn.grid_sample(depth[None, None], grid, mode="nearest", align_corners=False)[0, 0, :, 0]
        cos = (N @ light).clamp(min=0)
        bias = SHADOW_BIAS_M / cos.clamp(min=0.15).reshape(-1)         # slope-scaled: no acne at grazing light
        unshadowed = (q[:, 2] <= d_at + bias).float().reshape(P.shape[:2])
        ndl = cos * unshadowed
        h = Fn.normalize(light + torch.tensor([0.0, 0.0, 1.0]), dim=0)
        spec = SPECULAR * (N @ h).clamp(min=0) ** SHININESS * (ndl > 0)
        img = r.albedo[0] * (AMBIENT + KEY * ndl)[..., None] + spec[..., None]
        a = r.alpha[0]
        return img * a + 0.25 * (1 - a)

    return relight


def half_errors(model, bundle: Path, truth: dict, side: float) -> tuple[float, float]:
    """Mean absolute albedo error (linear) of the face skin seen, lit half and shadowed half."""
    rec = srgb_to_linear(cv2.cvtColor(cv2.imread(str(bundle / "albedo.png")), cv2.COLOR_BGR2RGB) / 255.0)
    cov = cv2.imread(str(bundle / "coverage.png"), cv2.IMREAD_GRAYSCALE) / 255.0
    S = rec.shape[0]
    gt = cv2.resize(truth["albedo"], (S, S), interpolation=cv2.INTER_AREA)
    sup = uv_support(model, S)
    face_v = model.vertex_regions[model.region_names.index("face")][None, :, None].float()
    face = interpolate(sup.raster.fragments, model.faces, face_v)[0, ..., 0].numpy() > 0.5
    x = world_to_uv(sup.raster, model.v_template.float()[None])[0, ..., 0].numpy()
    skin = face & sup.skin.numpy() & (cov >= 0.5)
    scale = np.median(gt[skin], 0) / np.maximum(np.median(rec[skin], 0), 1e-6)
    err = np.abs(rec * scale - gt).mean(-1)
    lit = skin & (np.sign(x) == side) & (np.abs(x) > 0.01)       # x: the subject's left is +x
    dark = skin & (np.sign(x) == -side) & (np.abs(x) > 0.01)
    return float(err[lit].mean()), float(err[dark].mean())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--heads", type=int, default=6)
    ap.add_argument("--sheet", type=Path, default=Path("out/delighting.png"))
    ap.add_argument("--no-bumps", action="store_true",
                    help="heads without the out-of-basis bumps (the shape basis can fit their normals)")
    a = ap.parse_args()
    model = OpenHead()
    tmp = Path(tempfile.mkdtemp(prefix="hs-delight-"))
    print(f"machine: {machine()}; default quality{'; heads without bumps' if a.no_bumps else ''}")
    print(f"{'head':<5} {'yaw':>6} {'key':>5} {'lit':>7} {'shadow':>7} {'ratio':>6}")
    rows, ratios = [], []
    for k in range(a.heads):
        side = 1.0 if k % 2 == 0 else -1.0
        rng = np.random.default_rng(4000 + k)
        img, truth = synthetic_case(model, rng, yaw_deg=float(rng.uniform(-15, 15)), dressed=True,
                                    relight=key_light(side), bumps=not a.no_bumps)
        p = tmp / f"k{k}.png"
        cv2.imwrite(str(p), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        try:
            reconstruct([p], tmp / f"k{k}", ReconstructSettings())
        except Exception as e:  # a failure is a result here
            print(f"{k:<5} failed: {str(e).splitlines()[0][:80]}")
            continue
        # the camera's right is the subject's left (+x) on a frontal face
        lit, dark = half_errors(model, tmp / f"k{k}", truth, side)
        ratios.append(max(lit, dark) / min(lit, dark))
        print(f"{k:<5} {truth['yaw']:>+6.1f} {'right' if side > 0 else 'left':>5} {lit:>7.4f} {dark:>7.4f} "
              f"{ratios[-1]:>6.2f}", flush=True)
        alb = cv2.cvtColor(cv2.imread(str(tmp / f"k{k}" / "albedo.png")), cv2.COLOR_BGR2RGB)
        S = alb.shape[0]
        gt = (np.clip(truth["albedo"], 0, 1) ** (1 / 2.2) * 255).astype(np.uint8)
        gt = cv2.resize(gt, (S, S), interpolation=cv2.INTER_AREA)
        rows.append(np.hstack([cv2.resize(img, (256, 256)), cv2.resize(alb[:, :S // 2], (128, 256)),
                               cv2.resize(gt[:, :S // 2], (128, 256))]))
    print(f"lit/shadow error ratio: median {np.median(ratios):.2f}, within 1.2: "
          f"{sum(r <= 1.2 for r in ratios)}/{a.heads}")
    write_sheet(a.sheet, np.vstack(rows))
    print(f"sheet: {a.sheet}; bundles in {tmp}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
