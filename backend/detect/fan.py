"""FAN (face-alignment, the DECA default) 68-point landmarks, when its weights are on disk.

face-alignment downloads two weight files on first use; offline that download fails, so we check
for them first and say exactly what is missing instead of hanging or crashing.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .dlib68 import DetectorUnavailable, FaceLandmarks

WEIGHT_FILES = ("s3fd-619a316812.pth", "2DFAN4-11f355bf06.pth.tar")


def fan_weights_dir() -> Path:
    import torch.hub

    return Path(torch.hub.get_dir()) / "checkpoints"


class FAN68:
    name = "fan"
    point_set = "ibug68"

    def __init__(self, device: str = "cpu"):
        d = fan_weights_dir()
        missing = [f for f in WEIGHT_FILES if not (d / f).is_file()]
        if missing:
            raise DetectorUnavailable(
                f"FAN landmarks need the face-alignment weights {', '.join(missing)} in {d} "
                "(downloaded by face-alignment on first use when online; set TORCH_HOME to use "
                "another folder). Use --landmarks dlib to work offline.")
        import face_alignment

        self._fa = face_alignment.FaceAlignment(face_alignment.LandmarksType.TWO_D, device=device,
                                                flip_input=False, compile=False)

    def detect(self, image: np.ndarray) -> list[FaceLandmarks]:
        preds, _, boxes = self._fa.get_landmarks_from_image(image, return_bboxes=True,
                                                            return_landmark_score=True)
        faces = []
        for pts, box in zip(preds or [], boxes or []):
            l, t, r, b = [int(round(x)) for x in box[:4]]
            faces.append(FaceLandmarks((l, t, r, b), np.asarray(pts, dtype=np.float64)[:, :2]))
        faces.sort(key=lambda f: -(f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))
        return faces
