"""Face detection and landmarks: MediaPipe's dense 478 points (offline, shipped ONNX), dlib's
68 iBUG points (offline), FAN's 68 when its weights exist."""
from functools import lru_cache

from .crop import Crop, crop_face, face_span
from .dlib68 import DetectorUnavailable, Dlib68, FaceLandmarks


@lru_cache(maxsize=4)
def make_detector(name: str = "dlib", device: str = "cpu", dlib_detector: str = "hog", mesh_weights: str = "google"):
    """'mediapipe' (dense, offline; `mesh_weights` picks Google's face mesh or the one tuned to
    OpenHead's points, mediapipe478.MESH_WEIGHTS), 'dlib' (offline) or 'fan' (face-alignment;
    raises DetectorUnavailable with the missing weight files when they are not on disk). Each has
    `point_set` (detect.point_sets). Cached: loading the predictors takes ~0.5 s."""
    if name == "mediapipe":
        from .mediapipe478 import MediaPipe478

        return MediaPipe478(dlib_detector=dlib_detector, device=device, mesh_weights=mesh_weights)
    if name == "dlib":
        return Dlib68(upsample=1, detector=dlib_detector)
    if name == "fan":
        from .fan import FAN68

        return FAN68(device=device)
    raise ValueError(f"unknown landmark detector {name!r}: use 'mediapipe', 'dlib' or 'fan'")


__all__ = ["Crop", "crop_face", "face_span", "DetectorUnavailable", "Dlib68", "FaceLandmarks", "make_detector"]
