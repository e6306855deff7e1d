"""MediaPipe's short-range face detector (BlazeFace, 128 x 128, Apache-2.0), offline: face boxes
and six key points where dlib's HOG finds none.

dlib's HOG boxes are what the dense landmarker starts from (they find the small faces of group
shots, which this detector, made for faces near the camera, does not). HOG is a frontal
template: a hand over the mouth, a tilted head or hard light can hide a face from it that a
learned detector still sees. The model is converted once by tools/build_mediapipe_onnx.py into
assets/mediapipe/ and run by onnxruntime.

The SSD decoding follows MediaPipe's face_detection_short_range graph: 896 anchors (a 16 x 16
grid with 2 per cell at stride 8, an 8 x 8 grid with 6 per cell at stride 16, all of unit size),
offsets in input pixels (x, y, w, h, then six (x, y) points: the subject's right eye, left eye,
nose tip, mouth centre, right and left ear tragion), a sigmoid score, and weighted non-maximum
suppression. Points are image pixels (x right, y down)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np

from .mediapipe_models import ASSETS, onnx_session

INPUT = 128
MODEL = "face_detection_short_range.onnx"
MIN_SCORE = 0.5               # MediaPipe's own threshold for this model
OVERLAP = 0.3                 # intersection over union from which two detections are one face


@dataclass(frozen=True)
class FaceBox:
    box: tuple[int, int, int, int]    # left, top, right, bottom, image pixels
    eyes: np.ndarray                  # (2, 2) the subject's right eye (image left), then left eye
    score: float


def anchors() -> np.ndarray:
    """(896, 2) anchor centres in [0, 1] of the input (x, y), in the model's output order."""
    out = []
    for stride, per_cell in ((8, 2), (16, 6)):
        n = INPUT // stride
        y, x = np.mgrid[0:n, 0:n]
        centres = np.stack([(x + 0.5) / n, (y + 0.5) / n], -1).reshape(-1, 1, 2)
        out.append(np.repeat(centres, per_cell, axis=1).reshape(-1, 2))
    return np.concatenate(out)


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a (4,), b (N, 4) boxes as (x0, y0, x1, y1) -> (N,)."""
    lo, hi = np.maximum(a[:2], b[:, :2]), np.minimum(a[2:], b[:, 2:])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=1)
    area = lambda r: np.prod(r[..., 2:] - r[..., :2], axis=-1)
    return inter / np.maximum(area(a) + area(b) - inter, 1e-9)


def weighted_nms(boxes: np.ndarray, points: np.ndarray, scores: np.ndarray) -> list[tuple]:
    """MediaPipe's weighted non-maximum suppression: each face is the score-weighted mean of the
    detections overlapping its best one. boxes (N, 4), points (N, 6, 2), scores (N,)."""
    order = np.argsort(-scores)
    boxes, points, scores = boxes[order], points[order], scores[order]
    faces, left = [], np.ones(len(scores), bool)
    for i in range(len(scores)):
        if not left[i]:
            continue
        group = left & (_iou(boxes[i], boxes) >= OVERLAP)
        w = scores[group] / scores[group].sum()
        faces.append(((boxes[group] * w[:, None]).sum(0), (points[group] * w[:, None, None]).sum(0), scores[i]))
        left &= ~group
    return faces


class BlazeFace:
    """Faces near the camera in an RGB image, largest box first."""

    def __init__(self, device: str = "cpu"):
        from .dlib68 import DetectorUnavailable

        if not (ASSETS / MODEL).exists():
            raise DetectorUnavailable(f"the face detector {MODEL} is missing from {ASSETS}; rebuild it with "
                                      "tools/build_mediapipe_onnx.py (see its docstring)")
        self.device = device

    @cached_property
    def _session(self):
        return onnx_session(ASSETS / MODEL, self.device)

    @cached_property
    def _anchors(self) -> np.ndarray:
        return anchors()

    def detect(self, image: np.ndarray) -> list[FaceBox]:
        """image (H, W, 3) uint8 RGB, letterboxed into the model's square input."""
        H, W = image.shape[:2]
        side = max(H, W)
        square = np.zeros((side, side, 3), np.uint8)
        top, left = (side - H) // 2, (side - W) // 2
        square[top:top + H, left:left + W] = image
        x = cv2.resize(square, (INPUT, INPUT), interpolation=cv2.INTER_AREA).astype(np.float32) / 127.5 - 1
        raw, logits = self._session.run(None, {"in0": x[None]})
        scores = 1 / (1 + np.exp(-np.clip(logits[0, :, 0], -100, 100)))
        keep = scores >= MIN_SCORE
        if not keep.any():
            return []
        raw, a = raw[0, keep] / INPUT, self._anchors[keep]
        centre, size = raw[:, :2] + a, raw[:, 2:4]
        boxes = np.concatenate([centre - size / 2, centre + size / 2], 1)
        points = raw[:, 4:16].reshape(-1, 6, 2) + a[:, None]
        offset, scale = np.array([left, top]), side
        faces = []
        for box, pts, score in weighted_nms(boxes, points, scores[keep]):
            b = box.reshape(2, 2) * scale - offset
            l, t = np.floor(b[0]).astype(int)
            r, bt = np.ceil(b[1]).astype(int)
            faces.append(FaceBox((int(l), int(t), int(r), int(bt)), pts[:2] * scale - offset, float(score)))
        return sorted(faces, key=lambda f: -(f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))
