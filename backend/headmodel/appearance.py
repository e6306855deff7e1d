"""Plain per-part vertex colours for previews and for the renders the landmark builder feeds to
dlib: skin, white sclera with a dark iris facing forward, teeth, tongue. Linear RGB in [0, 1].
`paint_irises` paints the eyes into a UV texture instead, with a sharp limbus (vertex colours
blur it over a whole low-poly triangle): the synthetic gaze renders use it. `paint_face` makes
a skin texture up (brows, lash lines, lips, cheeks, hair cap) so that detectors see a face;
`random_backdrop` gives the scene behind it."""
from __future__ import annotations

import math

import cv2
import numpy as np
import torch

SKIN = (0.80, 0.58, 0.47)
SCLERA = (0.92, 0.92, 0.90)
IRIS = (0.22, 0.13, 0.08)
TEETH = (0.93, 0.90, 0.80)
TONGUE = (0.75, 0.35, 0.35)


def part_colors(model, rest_vertices: torch.Tensor | None = None, skin=SKIN) -> torch.Tensor:
    """(1, V, 3) colours. The iris is where the rest eyeball faces +z (within ~35 degrees)."""
    v = model.v_template if rest_vertices is None else rest_vertices[0]
    col = torch.tensor(skin, dtype=v.dtype, device=v.device).expand(v.shape[0], 3).clone()
    names = model.part_names
    for eye in ("eye.L", "eye.R"):
        sel = model.vertex_part == names.index(eye)
        p = v[sel]
        d = torch.nn.functional.normalize(p - p.mean(0), dim=-1)
        c = torch.where((d[:, 2] > 0.82)[:, None], torch.tensor(IRIS, dtype=v.dtype, device=v.device),
                        torch.tensor(SCLERA, dtype=v.dtype, device=v.device))
        col[sel] = c
    for name, rgb in (("teeth.upper", TEETH), ("teeth.lower", TEETH), ("tongue", TONGUE)):
        col[model.vertex_part == names.index(name)] = torch.tensor(rgb, dtype=v.dtype, device=v.device)
    return col[None]


IRIS_HALF_ANGLE_DEG = 29.0   # a 5.85 mm iris radius on a 12 mm eyeball


def paint_irises(model, texture: np.ndarray, iris=IRIS, sclera=SCLERA) -> np.ndarray:
    """texture: (S, S, 3) linear RGB in the model's UV layout (row 0 at v = 1). Returns a copy
    whose eyeball texels are sclera, with an iris disk around each eyeball's forward (+z) axis in
    the rest template: the point `HeadModel.iris_embedding` tracks is the disk's centre."""
    from ..render.uv import rasterize_uv, world_to_uv

    S = texture.shape[0]
    lay = model.uv_layout
    raster = rasterize_uv(lay.uv.float(), lay.faces, model.faces, S)
    pos = world_to_uv(raster, model.v_template[None].float())[0].numpy()          # (S, S, 3) metres
    face = raster.fragments.face_index[0].numpy()                                  # (S, S), -1 empty
    covered = face >= 0
    fpart = model.face_part.cpu().numpy()
    out = texture.copy()
    cos_iris = math.cos(math.radians(IRIS_HALF_ANGLE_DEG))
    for eye, c in zip(("eye.R", "eye.L"), model.eyeball_centres()):
        sel = covered & (fpart[np.clip(face, 0, None)] == model.part_names.index(eye))
        d = pos[sel] - c
        d /= np.linalg.norm(d, axis=1, keepdims=True)
        out[sel] = np.where((d[:, 2] > cos_iris)[:, None], np.asarray(iris), np.asarray(sclera))
    return out


def _segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance (N,) of points p (N, 2) to the segment a-b."""
    ab = b - a
    t = np.clip(((p - a) @ ab) / max(float(ab @ ab), 1e-12), 0, 1)
    return np.linalg.norm(p - (a + t[:, None] * ab), axis=1)


def _polyline_distance(p: np.ndarray, line: np.ndarray, closed: bool) -> np.ndarray:
    pts = np.vstack([line, line[:1]]) if closed else line
    return np.min([_segment_distance(p, pts[i], pts[i + 1]) for i in range(len(pts) - 1)], axis=0)


def _inside(p: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Even-odd test: (N,) bool, points p (N, 2) inside the closed polygon (K, 2)."""
    inside = np.zeros(len(p), bool)
    for a, b in zip(polygon, np.roll(polygon, -1, axis=0)):
        crosses = (a[1] > p[:, 1]) != (b[1] > p[:, 1])
        x = a[0] + (p[:, 1] - a[1]) * (b[0] - a[0]) / (b[1] - a[1] + 1e-12)
        inside ^= crosses & (p[:, 0] < x)
    return inside


def paint_face(model, texture: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """texture: (S, S, 3) linear RGB skin in the model's UV layout. Returns a copy made up to look
    like a face to landmark detectors: brows, lash lines, lips, rosy cheeks and a hair cap with a
    random hairline, painted on the skin by each texel's place on the mean head (metres, seen from
    the front). Positions come from the model's 68-point embedding, so the paint sits where the
    detectors look for the features."""
    from ..render.uv import rasterize_uv, world_to_uv

    S = texture.shape[0]
    lay = model.uv_layout
    raster = rasterize_uv(lay.uv.float(), lay.faces, model.faces, S)
    pos = world_to_uv(raster, model.v_template[None].float())[0].numpy().reshape(-1, 3)
    face = raster.fragments.face_index[0].numpy().reshape(-1)
    skin = (face >= 0) & (model.face_part.cpu().numpy()[np.clip(face, 0, None)] == 0)
    lm = model.landmarks.points(model.v_template[None].float(), model.faces, torch.zeros(1))[0].numpy()
    xy, front = pos[:, :2], pos[:, 2] > lm[:, 2].min() - 0.03
    out = texture.reshape(-1, 3).copy()
    hair = np.array([0.03, 0.02, 0.012]) * rng.uniform(0.6, 3.0)

    def paint(mask, colour, alpha=1.0):
        m = ((mask & skin) * np.asarray(alpha, np.float32))[:, None]
        out[:] = out * (1 - m) + np.asarray(colour)[None] * m

    brow_w = rng.uniform(0.0025, 0.004)
    for a, b in ((17, 22), (22, 27)):
        line = lm[a:b, :2] + np.array([0.0, 0.002])
        paint(front & (_polyline_distance(xy, line, False) < brow_w), hair * 0.8, 0.9)
    for a in (36, 42):
        paint(front & (_polyline_distance(xy, lm[a:a + 6, :2], True) < 0.0012), (0.02, 0.015, 0.012), 0.85)
    lip = np.array([0.42, 0.14, 0.13]) * rng.uniform(0.7, 1.2)
    paint(front & (_polyline_distance(xy, lm[48:60, :2], True) < 0.0015), lip * 0.7, 0.8)
    paint(front & _inside(xy, lm[48:60, :2]), lip, 0.75)
    for c in (lm[2] * 0.35 + lm[31] * 0.65, lm[14] * 0.35 + lm[35] * 0.65):   # cheeks
        d = np.linalg.norm(xy - c[:2], axis=1)
        paint(front, (0.75, 0.35, 0.32), 0.25 * np.exp(-(d / 0.018) ** 2))
    brow_top = lm[17:27, 1].max()
    line = brow_top + rng.uniform(0.03, 0.05) + 0.006 * np.sin(xy[:, 0] * rng.uniform(60, 120))
    cap = (pos[:, 1] > line) | ((pos[:, 2] < lm[:, 2].min() - 0.05) & (pos[:, 1] > lm[30, 1]))
    paint(cap, hair, 0.95)
    return out.reshape(texture.shape)


def random_backdrop(rng: np.random.Generator, size: int) -> np.ndarray:
    """A random backdrop (size, size, 3) uint8: smooth colour clouds and a few soft-edged shapes."""
    low = rng.uniform(20, 235, (4, 4, 3))
    img = cv2.resize(low, (size, size), interpolation=cv2.INTER_CUBIC)
    for _ in range(int(rng.integers(2, 6))):
        c = tuple(int(v) for v in rng.uniform(0, size, 2))
        col = tuple(float(v) for v in rng.uniform(0, 255, 3))
        if rng.random() < 0.5:
            cv2.circle(img, c, int(rng.uniform(20, size / 4)), col, -1, cv2.LINE_AA)
        else:
            cv2.rectangle(img, c, (c[0] + int(rng.uniform(20, size / 3)), c[1] + int(rng.uniform(20, size / 3))),
                          col, -1, cv2.LINE_AA)
    return np.clip(cv2.GaussianBlur(img, (0, 0), 2.0), 0, 255)[..., :3]
