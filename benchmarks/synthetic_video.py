"""A synthetic performance with known per-frame parameters, for the tracker's benchmark and tests:
one dressed OpenHead identity (brows, lips, irises painted; headmodel.appearance) on a fixed
backdrop, lit by SH light, acting a script of segments at 30 fps:

    still (neutral) | brows up | smile | head turn left-right (+-25 deg) | jaw open | frown + blink

Truth per frame: the ARKit weights (T, 52), head rotation axis-angle (T, 3) and jaw (T, 3).
"""
from __future__ import annotations

import math

import cv2
import numpy as np
import torch

from headsmith.headmodel import HeadPose
from headsmith.headmodel.appearance import paint_face, paint_irises
from headsmith.imageio.color import linear_to_srgb, to_uint8
from headsmith.render import MeshRenderer, OrthographicCamera, default_light

FPS = 30.0
SEGMENTS = ("still", "brows", "smile", "turn", "jaw", "frown")


def _bump(n: int) -> np.ndarray:
    """0 -> 1 -> 0 over n frames (a raised cosine)."""
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / max(n - 1, 1))


def script(model, frames_per_segment: int) -> dict:
    """The per-frame truth: expression (T, E), rotation (T, 3), jaw (T, 3), segment name per frame."""
    n, E = frames_per_segment, model.n_expression
    T = n * len(SEGMENTS)
    expr, rot, jaw = np.zeros((T, E)), np.zeros((T, 3)), np.zeros((T, 3))
    idx = {k: i for i, k in enumerate(model.expression_names)}
    b = _bump(n)
    for s, name in enumerate(SEGMENTS):
        sl = slice(s * n, (s + 1) * n)
        if name == "brows":
            for k in ("browInnerUp", "browOuterUpLeft", "browOuterUpRight"):
                expr[sl, idx[k]] = 0.9 * b
        elif name == "smile":
            for k in ("mouthSmileLeft", "mouthSmileRight"):
                expr[sl, idx[k]] = 0.8 * b
            for k in ("cheekSquintLeft", "cheekSquintRight"):
                expr[sl, idx[k]] = 0.4 * b
        elif name == "turn":
            rot[sl, 1] = math.radians(25) * np.sin(2 * np.pi * np.arange(n) / n)
            rot[sl, 0] = 0.08 * np.sin(4 * np.pi * np.arange(n) / n)
        elif name == "jaw":
            jaw[sl, 0] = 0.3 * b
        elif name == "frown":
            for k in ("browDownLeft", "browDownRight"):
                expr[sl, idx[k]] = 0.8 * b
            blink = np.clip(1 - np.abs(np.arange(n) - n // 2) / 3.0, 0, 1)
            for k in ("eyeBlinkLeft", "eyeBlinkRight"):
                expr[sl, idx[k]] = blink
    return {"expression": expr, "rotation": rot, "jaw": jaw, "segment": np.repeat(SEGMENTS, n)}


def render_video(model, seed: int = 0, frames_per_segment: int = 20, size: int = 320, truth: dict | None = None):
    """-> (frames (T, size, size, 3) uint8 RGB, truth dict incl. 'shape' (n_shape,)). truth: other
    per-frame parameters than the script's (the keys `script` returns)."""
    rng = np.random.default_rng(seed)
    shape = torch.tensor(rng.normal(0, 1.0, model.n_shape), dtype=torch.float32)[None]
    tone = np.array([rng.uniform(0.4, 0.65), 0, 0])
    tone[1], tone[2] = tone[0] * 0.7, tone[0] * 0.55
    noise = cv2.resize(rng.normal(0, 0.04, (16, 16, 3)), (1024, 1024), interpolation=cv2.INTER_CUBIC)
    albedo = paint_irises(model, paint_face(model, np.clip(tone * (1 + noise), 0.02, 1), rng))
    tex = torch.tensor(albedo, dtype=torch.float32).permute(2, 0, 1)[None]
    back = cv2.resize(rng.uniform(40, 200, (4, 4, 3)), (size, size), interpolation=cv2.INTER_CUBIC)
    truth = dict(truth) if truth is not None else script(model, frames_per_segment)
    renderer = MeshRenderer(model.faces, model.uv_layout.uv, model.uv_layout.faces)
    cam = OrthographicCamera(torch.tensor([[4.6, 0.0, 0.03]]))
    frames = []
    for t in range(len(truth["segment"])):
        pose = HeadPose.zeros(1)
        pose.global_rot[0] = torch.tensor(truth["rotation"][t], dtype=torch.float32)
        pose.jaw[0] = torch.tensor(truth["jaw"][t], dtype=torch.float32)
        with torch.no_grad():
            out = model(shape=shape, expression=torch.tensor(truth["expression"][t:t + 1], dtype=torch.float32),
                        pose=pose)
            r = renderer.render(out.vertices, cam, (size, size), light=default_light(), texture=tex)
        a = r.alpha[0].numpy()[..., None] if r.alpha[0].dim() == 2 else r.alpha[0].numpy()
        img = to_uint8(linear_to_srgb(r.image[0])) * a + back * (1 - a)
        frames.append(np.clip(img, 0, 255).astype(np.uint8))
    truth["shape"] = shape[0].numpy()
    return np.stack(frames), truth


def write_video(frames: np.ndarray, path, fps: float = FPS):
    """frames (T, H, W, 3) uint8 RGB -> an MJPG .avi OpenCV reads back (no codec outside the wheel)."""
    h, w = frames.shape[1:3]
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    for f in frames:
        out.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    out.release()
    return path
