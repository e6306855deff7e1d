"""Renders for training a dense landmarker on OpenHead's own points: made-up OpenHead people
(headmodel.appearance: brows, lash lines, lips, a hair cap, irises; skin tones from pale to dark)
photographed with random expressions, open mouths, head turns up to 50 degrees and lights in front
of random backdrops, each with the true image position of every MediaPipe mesh point as the
model's embedding (assets/openhead/mediapipe478.npz, its row for the head's yaw) places it on the
true head.

    ROOT/shard_0000.npz ...   one per person: images (K, S, S, 3) uint8 sRGB, points (K, 468, 2)
                              float32 image pixels (x right, y down), yaw (K,) degrees
    ROOT/renders.json         the options and seed they were made with

A shard is written whole (atomically) per person, so an interrupted run resumes where it stopped."""
from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import torch

TEXTURE = 512       # the made-up skin texture's side


def _person(model, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """-> (shape (1, S) drawn at 0.9-1.4x the prior's spread, texture (1, 3, T, T) linear RGB)."""
    from headsmith.headmodel.appearance import paint_face, paint_irises

    shape = torch.tensor(rng.normal(0, rng.uniform(0.9, 1.4), model.n_shape), dtype=torch.float32)[None]
    tone = np.array([rng.uniform(0.12, 0.75), 0, 0])
    tone[1], tone[2] = tone[0] * rng.uniform(0.6, 0.8), tone[0] * rng.uniform(0.45, 0.7)
    noise = cv2.resize(rng.normal(0, 0.05, (16, 16, 3)), (TEXTURE, TEXTURE), interpolation=cv2.INTER_CUBIC)
    albedo = paint_irises(model, paint_face(model, np.clip(tone * (1 + noise), 0.02, 1), rng))
    return shape, torch.tensor(albedo, dtype=torch.float32).permute(2, 0, 1)[None]


def _pose(model, rng: np.random.Generator):
    """-> (expression (1, E), HeadPose): up to four ARKit keys at 0.2-0.9, the jaw open 0.1-0.45 rad
    on a third, pitch +-15, yaw +-50, roll +-10 degrees, the eyes turned up to 0.3 rad."""
    from headsmith.fit.terms import fitted_expressions
    from headsmith.headmodel import HeadPose

    expr = torch.zeros(1, model.n_expression)
    keys = rng.choice(fitted_expressions(model.expression_names), int(rng.integers(0, 5)), replace=False)
    expr[0, keys] = torch.tensor(rng.uniform(0.2, 0.9, len(keys)), dtype=torch.float32)
    pose = HeadPose.zeros(1)
    pose.global_rot[0] = torch.tensor(np.radians([rng.uniform(-15, 15), rng.uniform(-50, 50), rng.uniform(-10, 10)]),
                                      dtype=torch.float32)
    pose.jaw[0, 0] = float(rng.uniform(0.1, 0.45)) if rng.random() < 1 / 3 else float(rng.uniform(0, 0.05))
    pose.eye_left[0, :2] = pose.eye_right[0, :2] = torch.tensor(rng.uniform(-0.3, 0.3, 2), dtype=torch.float32)
    return expr, pose


def _light(rng: np.random.Generator) -> torch.Tensor:
    """SH light (1, 9, 3): the default with its ambient scaled 0.7-1.3x, its first-order bands moved by up to
    0.6 and each channel tinted by up to 15 %."""
    from headsmith.render import default_light

    light = default_light()
    light[0, 0] *= float(rng.uniform(0.7, 1.3))
    light[0, 1:4] += torch.tensor(rng.uniform(-0.6, 0.6, (3, 1)), dtype=torch.float32)
    light[0] *= torch.tensor(rng.uniform(0.85, 1.15, 3), dtype=torch.float32)
    return light


def render_photo(model, renderer, shape, tex, rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray, float]:
    """One photo of a person -> (image (S, S, 3) uint8 sRGB, true mesh points (468, 2) image pixels,
    yaw degrees)."""
    from headsmith.headmodel.appearance import random_backdrop
    from headsmith.imageio.color import linear_to_srgb, to_uint8
    from headsmith.render import OrthographicCamera

    expr, pose = _pose(model, rng)
    cam = OrthographicCamera(torch.tensor([[rng.uniform(3.6, 5.6), rng.uniform(-0.05, 0.05), rng.uniform(-0.02, 0.06)]],
                                          dtype=torch.float32))
    emb = model.landmark_set("mediapipe478")
    with torch.no_grad():
        out = model(shape=shape, expression=expr, pose=pose, embedding=emb)
        r = renderer.render(out.vertices, cam, (size, size), light=_light(rng), texture=tex)
        ndc = cam.project_ndc(out.landmarks3d)[0]
    px = torch.stack([(ndc[:, 0] + 1) * 0.5 * size, (1 - ndc[:, 1]) * 0.5 * size], -1).numpy()
    points = np.zeros((len(emb.detector_index()), 2), np.float32)
    points[emb.detector_index().numpy()] = px
    a = r.alpha[0].numpy()
    img = to_uint8(linear_to_srgb(r.image[0])) * a + random_backdrop(rng, size) * (1 - a)
    return np.clip(img, 0, 255).astype(np.uint8), points, math.degrees(float(pose.global_rot[0, 1]))


def make_renders(root: Path, people: int, per_person: int, size: int = 512, seed: int = 0, log=print) -> None:
    """Write ROOT (see the module's docstring); people whose shard exists are skipped."""
    from headsmith.headmodel import OpenHead
    from headsmith.render import MeshRenderer

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    opts = {"people": people, "per_person": per_person, "size": size, "seed": seed}
    (root / "renders.json").write_text(json.dumps(opts))
    model = OpenHead()
    renderer = MeshRenderer(model.faces, model.uv_layout.uv, model.uv_layout.faces)
    for p in range(people):
        shard = root / f"shard_{p:04d}.npz"
        if shard.exists():
            continue
        rng = np.random.default_rng([seed, p])
        shape, tex = _person(model, rng)
        photos = [render_photo(model, renderer, shape, tex, rng, size) for _ in range(per_person)]
        tmp = root / f".partial_{p:04d}.npz"       # not a shard_*.npz until it is whole
        np.savez(tmp, images=np.stack([x[0] for x in photos]), points=np.stack([x[1] for x in photos]),
                 yaw=np.array([x[2] for x in photos], np.float32))
        tmp.replace(shard)
        if p % 10 == 0:
            log(f"person {p + 1}/{people}")


def add_arguments(d) -> None:
    """`headsmith-train landmark-renders`' options."""
    d.add_argument("--out", type=Path, required=True, help="the folder to write (shard_*.npz, renders.json)")
    d.add_argument("--people", type=int, default=300)
    d.add_argument("--per-person", type=int, default=8)
    d.add_argument("--size", type=int, default=512, help="photo side, pixels")
    d.add_argument("--seed", type=int, default=0)


def run(a, command: str) -> int:
    make_renders(a.out, a.people, a.per_person, a.size, a.seed)
    return 0
