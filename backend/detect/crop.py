"""DECA-style crop: a square around the landmark box, scaled 1.25, warped by a similarity
transform to a fixed resolution. The transform is kept so results map back to the photo."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

CROP_SCALE = 1.25


@dataclass
class Crop:
    image: np.ndarray        # (S, S, 3) uint8 RGB
    landmarks: np.ndarray    # (N, 2) pixels in the crop, the detector's points
    matrix: np.ndarray       # (2, 3) photo pixels -> crop pixels
    size: int

    def to_photo(self, pts: np.ndarray) -> np.ndarray:
        """Crop pixels (N, 2) -> photo pixels."""
        inv = cv2.invertAffineTransform(self.matrix)
        return pts @ inv[:, :2].T + inv[:, 2]


def face_span(landmarks: np.ndarray, box: tuple[int, ...] | None = None) -> float:
    """The face's size in the landmarks' pixels: the mean of the width and height of the points
    that frame the crop (PointSet.box; all of them by default)."""
    framing = landmarks if box is None else landmarks[list(box)]
    return float(np.mean(framing.max(0) - framing.min(0)))


def crop_face(image: np.ndarray, landmarks: np.ndarray, size: int = 512,
              scale: float = CROP_SCALE, box: tuple[int, ...] | None = None) -> Crop:
    """box: the points whose extent frames the crop (PointSet.box; all of them by default), so that
    every point set gives the face the same size in the crop."""
    framing = landmarks if box is None else landmarks[list(box)]
    lo, hi = framing.min(0), framing.max(0)
    centre = (lo + hi) / 2
    side = 1.1 * face_span(landmarks, box) * scale  # DECA's box: 1.1 * mean(w, h) * 1.25
    s = size / side
    M = np.array([[s, 0, size / 2 - s * centre[0]], [0, s, size / 2 - s * centre[1]]])
    out = cv2.warpAffine(image, M, (size, size), flags=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REPLICATE)
    lm = landmarks @ M[:, :2].T + M[:, 2]
    return Crop(out, lm, M, size)
