"""Things over a face, drawn on a landmarker's training crop while its targets stay the true
points: loose hair, glasses and objects (a hand, a phone, a cup). A landmarker that never saw them
moves its whole mesh when a strand crosses a brow or a frame rims an eye, and the fit follows
(benchmarks/NOTES.md, session 51: much of the occluder benchmark's excess error is that shift).

Drawn unlike bench_occluders.py's own (its Bezier strands, elliptic frames and five-stroke hand),
so a landmarker trained with them is not trained on that benchmark's pictures: strands are random
walks of any hair colour from anywhere above the eyes, frames are rounded rectangles or ovals of
any weight and colour with tinted lenses, objects are smooth random blobs in a skin or object
colour entering from the crop's lower or side edge.

All drawing is on (S, S, 3) uint8 RGB crops; points are MediaPipe's 468 mesh points in crop pixels."""
from __future__ import annotations

import cv2
import numpy as np
from headsmith.detect.point_sets import MEDIAPIPE478

EYE_CORNERS = ((33, 133), (362, 263))    # each eye's two corners: the image-left eye, the image-right eye
BROWS = sum(MEDIAPIPE478.brows, ())
CHIN, CHEEKS = 152, (234, 454)


def _iod(points: np.ndarray) -> float:
    a, b = MEDIAPIPE478.outer_eye_corners
    return float(np.linalg.norm(points[a] - points[b]))


def _hair_colour(rng: np.random.Generator) -> np.ndarray:
    """Black, brown, auburn, blond or grey, RGB 0-255."""
    base = np.array([[20, 16, 14], [70, 45, 30], [120, 60, 35], [190, 150, 90], [170, 170, 165]], np.float32)
    return base[rng.integers(len(base))] * rng.uniform(0.7, 1.2)


def draw_strands(crop: np.ndarray, points: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """3-25 strands, each a random walk (its heading drifting) from above the brows downwards."""
    img, iod = crop.copy(), _iod(points)
    top = points[list(BROWS), 1].min() - 0.5 * iod
    x_lo, x_hi = points[CHEEKS[0], 0], points[CHEEKS[1], 0]
    colour = _hair_colour(rng)
    for _ in range(int(rng.integers(3, 26))):
        p = np.array([rng.uniform(x_lo, x_hi), rng.uniform(top, top + 0.6 * iod)])
        heading = np.pi / 2 + rng.normal(0, 0.5)
        path = [p.copy()]
        for _ in range(int(rng.integers(10, 40))):
            heading += rng.normal(0, 0.15)
            p = p + 0.05 * iod * np.array([np.cos(heading), np.sin(heading)])
            path.append(p.copy())
        c = tuple(float(v) for v in np.clip(colour * rng.uniform(0.8, 1.2), 0, 255))
        width = int(rng.integers(1, max(2, round(0.03 * iod)) + 1))
        cv2.polylines(img, [np.round(path).astype(np.int32)], False, c, width, cv2.LINE_AA)
    return img


def _lens(shape: tuple, centre: np.ndarray, half: np.ndarray, oval: bool) -> np.ndarray:
    """(H, W) uint8: a filled oval or rounded rectangle of half-extents `half` about `centre`."""
    mask = np.zeros(shape, np.uint8)
    if oval:
        cv2.ellipse(mask, tuple(int(v) for v in centre), tuple(int(v) for v in half), 0, 0, 360, 255, -1, cv2.LINE_AA)
        return mask
    lo, hi, r = centre - half, centre + half, int(min(half) * 0.5)
    cv2.rectangle(mask, (int(lo[0] + r), int(lo[1])), (int(hi[0] - r), int(hi[1])), 255, -1)
    cv2.rectangle(mask, (int(lo[0]), int(lo[1] + r)), (int(hi[0]), int(hi[1] - r)), 255, -1)
    for cx in (lo[0] + r, hi[0] - r):
        for cy in (lo[1] + r, hi[1] - r):
            cv2.circle(mask, (int(cx), int(cy)), r, 255, -1, cv2.LINE_AA)
    return mask


def draw_glasses(crop: np.ndarray, points: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Two rims round the eyes (ovals or rounded rectangles, thin metal to heavy plastic), a bridge,
    the temples to the face's sides, and lenses tinted from clear to dark."""
    img, iod = crop.astype(np.float32), _iod(points)
    rims, lenses = np.zeros(crop.shape[:2], np.uint8), np.zeros(crop.shape[:2], np.uint8)
    width = int(max(1, round(iod * rng.uniform(0.01, 0.07))))
    oval = bool(rng.random() < 0.5)
    half = np.array([rng.uniform(0.22, 0.32), rng.uniform(0.13, 0.24)]) * iod
    centres = []
    for outer, inner in EYE_CORNERS:
        c = (points[outer] + points[inner]) / 2 + [0, rng.uniform(-0.05, 0.08) * iod]
        centres.append(c)
        lens = _lens(rims.shape, c, half, oval)
        rims = np.maximum(rims, cv2.morphologyEx(lens, cv2.MORPH_GRADIENT, np.ones((width + 1,) * 2, np.uint8)))
        lenses = np.maximum(lenses, lens)
    cv2.line(rims, tuple(int(v) for v in centres[0] + [half[0], -0.3 * half[1]]),
             tuple(int(v) for v in centres[1] - [half[0], 0.3 * half[1]]), 255, width, cv2.LINE_AA)
    for c, side, sign in ((centres[0], points[CHEEKS[0]], -1), (centres[1], points[CHEEKS[1]], 1)):
        cv2.line(rims, tuple(int(v) for v in c + [sign * half[0], -0.3 * half[1]]),
                 (int(side[0]), int(c[1] - 0.3 * half[1])), 255, width, cv2.LINE_AA)
    tint = rng.uniform(0, 0.85) if rng.random() < 0.4 else 0.0
    lens_colour = rng.uniform(0, 90, 3)
    lw = (lenses.astype(np.float32) / 255)[..., None] * tint
    img = img * (1 - lw) + lens_colour * lw
    colour = rng.uniform(0, 60, 3) if rng.random() < 0.6 else rng.uniform(60, 230, 3)
    rw = (rims.astype(np.float32) / 255)[..., None]
    return np.clip(img * (1 - rw) + colour * rw, 0, 255).astype(np.uint8)


def draw_object(crop: np.ndarray, points: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A smooth blob (a union of ellipses, feathered) from the crop's lower edge or a side over
    the jaw, a cheek or the mouth, in a skin tone or any colour, shaded across."""
    img, iod = crop.astype(np.float32), _iod(points)
    S = crop.shape[0]
    mask = np.zeros(crop.shape[:2], np.uint8)
    target = points[rng.choice([CHIN, CHEEKS[0], CHEEKS[1], 13])] + rng.normal(0, 0.15 * iod, 2)
    edge = {0: np.array([target[0], S]), 1: np.array([0.0, target[1]]), 2: np.array([S, target[1]])}[int(rng.integers(3))]
    for t in np.linspace(0, 1, int(rng.integers(3, 7))):
        c = edge + t * (target - edge) + rng.normal(0, 0.1 * iod, 2)
        axes = (np.abs(rng.normal(0.35, 0.12, 2)) + 0.1) * iod
        cv2.ellipse(mask, tuple(int(v) for v in c), tuple(int(v) for v in axes), float(rng.uniform(0, 180)), 0, 360, 255, -1)
    m = cv2.GaussianBlur(mask.astype(np.float32) / 255, (0, 0), 0.8)[..., None]
    colour = (np.array([225, 165, 135]) * rng.uniform(0.3, 1.05)) if rng.random() < 0.6 else rng.uniform(10, 240, 3)
    ramp = np.linspace(rng.uniform(0.6, 1.0), rng.uniform(0.6, 1.0), S, dtype=np.float32)
    shade = ramp[None, :, None] if rng.random() < 0.5 else ramp[:, None, None]
    return np.clip(img * (1 - m) + colour * shade * m, 0, 255).astype(np.uint8)


DRAW = {"strands": draw_strands, "glasses": draw_glasses, "object": draw_object}


def occlude(crop: np.ndarray, points: np.ndarray, rng: np.random.Generator, share: float) -> np.ndarray:
    """With probability `share`, one or two of the occluders above over the crop (else the crop)."""
    if share <= 0 or rng.random() >= share:
        return crop
    for kind in rng.choice(tuple(DRAW), int(rng.integers(1, 3)), replace=False):
        crop = DRAW[str(kind)](crop, points, rng)
    return crop
