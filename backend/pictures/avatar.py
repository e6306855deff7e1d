"""avatar.png: the head's pose renders side by side with labels, and below them each forehead at
twice the size, where the expression lines show."""
from __future__ import annotations

import cv2
import numpy as np


def compose(labels: list[str], images: np.ndarray) -> np.ndarray:
    """labels (N,), images (N, S, S, 3) uint8 RGB -> (S + S/2, N*S, 3) uint8 RGB."""
    tiles, crops = [], []
    for label, img in zip(labels, images):
        tile = np.ascontiguousarray(img.copy())
        s = img.shape[0]
        cv2.putText(tile, label, (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (255, 255, 255), 2, cv2.LINE_AA)
        tiles.append(tile)
        c = img[int(0.02 * s):int(0.27 * s), int(0.25 * s):int(0.75 * s)]
        c = np.ascontiguousarray(cv2.resize(c, (s, s // 2), interpolation=cv2.INTER_CUBIC))
        cv2.putText(c, f"{label}: forehead x2", (10, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2,
                    cv2.LINE_AA)
        crops.append(c)
    return np.concatenate([np.concatenate(tiles, 1), np.concatenate(crops, 1)], 0)
