"""dlib's 128-d face embedding (face_recognition_models): distance < 0.6 is dlib's same-person
threshold. Used to measure how recognisable a reconstruction is."""
from __future__ import annotations

import numpy as np

from .dlib68 import DetectorUnavailable

SAME_PERSON = 0.6   # dlib's threshold: embeddings of one person are closer than this


class FaceEmbedder:
    def __init__(self):
        try:
            import dlib
            import face_recognition_models as frm
        except ImportError as e:  # pragma: no cover
            raise DetectorUnavailable(f"dlib face embeddings need dlib and face_recognition_models ({e})") from e
        self._det = dlib.get_frontal_face_detector()
        self._sp = dlib.shape_predictor(frm.pose_predictor_model_location())
        self._rec = dlib.face_recognition_model_v1(frm.face_recognition_model_location())

    def embed(self, image: np.ndarray) -> np.ndarray | None:
        """(128,) embedding of the largest face in an RGB uint8 image, None when no face."""
        img = np.ascontiguousarray(image)
        dets = sorted(self._det(img, 1), key=lambda r: -r.area())
        if not dets:
            return None
        return self._descriptor(img, dets[0])

    def embed_box(self, image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        """(128,) embedding of the face in `box` (left, top, right, bottom pixels) of an RGB image."""
        import dlib

        return self._descriptor(np.ascontiguousarray(image), dlib.rectangle(*(int(v) for v in box)))

    def _descriptor(self, img: np.ndarray, rect) -> np.ndarray:
        shape = self._sp(img, rect)
        return np.asarray(self._rec.compute_face_descriptor(img, shape, 1), dtype=np.float64)

    @staticmethod
    def distance(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.linalg.norm(a - b))
