"""dlib's offline detector: HOG face boxes + the 68-point shape predictor whose weights ship on
PyPI in `face_recognition_models`. Points are in pixels (x right, y down) of the input image."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .point_sets import IBUG68


class DetectorUnavailable(RuntimeError):
    """dlib or its model files are missing; the message says what to install."""


@dataclass
class FaceLandmarks:
    box: tuple[int, int, int, int]   # left, top, right, bottom in pixels
    points: np.ndarray               # (68, 2) float, iBUG order, pixels

    OUTER_EYE_CORNERS = IBUG68.outer_eye_corners

    @property
    def interocular(self) -> float:
        """Distance between the outer eye corners, pixels."""
        a, b = self.OUTER_EYE_CORNERS
        return float(np.linalg.norm(self.points[a] - self.points[b]))


class Dlib68:
    """detector: "hog" (fast, frontal to ~45 degrees) or "cnn" (dlib's MMOD CNN, slower, finds
    harder faces)."""

    name = "dlib"
    point_set = "ibug68"

    def __init__(self, upsample: int = 1, detector: str = "hog"):
        try:
            import dlib
            import face_recognition_models as frm
        except ImportError as e:  # pragma: no cover - both are project dependencies
            raise DetectorUnavailable(
                f"dlib landmarks need `dlib-bin` and `face_recognition_models` ({e}); "
                "reinstall with `python3 dev.py setup`") from e
        if detector == "hog":
            self._detector = dlib.get_frontal_face_detector()
        elif detector == "cnn":
            cnn = dlib.cnn_face_detection_model_v1(frm.cnn_face_detector_model_location())
            self._detector = lambda img, up: [d.rect for d in cnn(img, up)]
        else:
            raise ValueError(f"unknown dlib detector {detector!r}: use 'hog' or 'cnn'")
        self._predictor = dlib.shape_predictor(frm.pose_predictor_model_location())
        self._dlib = dlib
        self.upsample = upsample

    def _rects(self, image: np.ndarray) -> tuple[np.ndarray, list]:
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError("face detection expects an RGB uint8 image (H, W, 3)")
        img = np.ascontiguousarray(image)
        # try without upsampling first (4x faster); upsample only when that finds nothing
        rects = self._detector(img, 0) if self.upsample > 0 else []
        if len(rects) == 0:
            rects = self._detector(img, self.upsample)
        rects = sorted(rects, key=lambda r: -r.width() * r.height())
        return img, rects

    def boxes(self, image: np.ndarray) -> list[FaceLandmarks]:
        """Face boxes only (points empty), largest first: what the dense landmarker starts from."""
        _, rects = self._rects(image)
        return [FaceLandmarks((r.left(), r.top(), r.right(), r.bottom()), np.zeros((0, 2))) for r in rects]

    def detect(self, image: np.ndarray) -> list[FaceLandmarks]:
        """image: (H, W, 3) uint8 RGB. Faces sorted by box area, largest first."""
        img, rects = self._rects(image)
        faces = []
        for r in rects:
            shape = self._predictor(img, r)
            pts = np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float64)
            faces.append(FaceLandmarks((r.left(), r.top(), r.right(), r.bottom()), pts))
        return faces
