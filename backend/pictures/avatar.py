"""avatar.png: the head's pose renders side by side with labels, below them each forehead at
twice the size, where the expression lines show, and below those the wrinkle keys' close-ups
(renders labelled UI["closeup"] + key), as many to a row as the poses."""
from __future__ import annotations

import cv2
import numpy as np


def compose(labels: list[str], images: np.ndarray) -> np.ndarray:
    """labels (N,), images (N, S, S, 3) uint8 RGB -> (S + S/2 [+ S per row of close-ups], P*S, 3)
    uint8 RGB, P the pose renders (not close-ups)."""
    from headsmith_blender.core.strings import UI

    close = [(lab[len(UI["closeup"]):], img) for lab, img in zip(labels, images) if lab.startswith(UI["closeup"])]
    tiles, crops = [], []
    for label, img in zip(labels, images):
        if label.startswith(UI["closeup"]):
            continue
        tile = np.ascontiguousarray(img.copy())
        s = img.shape[0]
        cv2.putText(tile, label, (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (255, 255, 255), 2, cv2.LINE_AA)
        tiles.append(tile)
        c = img[int(0.02 * s):int(0.27 * s), int(0.25 * s):int(0.75 * s)]
        c = np.ascontiguousarray(cv2.resize(c, (s, s // 2), interpolation=cv2.INTER_CUBIC))
        cv2.putText(c, f"{label}: forehead x2", (10, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2,
                    cv2.LINE_AA)
        crops.append(c)
    rows = [np.concatenate(tiles, 1), np.concatenate(crops, 1)]
    return np.concatenate(rows + _closeup_rows(close, rows[0].shape[1], images.shape[1]), 0)


def _closeup_rows(close: list, width: int, side: int) -> list[np.ndarray]:
    """The close-ups at side x side (their own size), labelled, as many per row as fit in `width`."""
    per_row = max(width // side, 1)
    rows = []
    for i in range(0, len(close), per_row):
        row = np.zeros((side, width, 3), np.uint8)
        for j, (key, img) in enumerate(close[i:i + per_row]):
            t = np.ascontiguousarray(cv2.resize(img, (side, side), interpolation=cv2.INTER_AREA))
            cv2.putText(t, key, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2, cv2.LINE_AA)
            row[:, j * side:(j + 1) * side] = t
        rows.append(row)
    return rows
