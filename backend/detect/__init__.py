"""Face detection and 68-point (iBUG) landmarks."""
from .dlib68 import DetectorUnavailable, Dlib68, FaceLandmarks

__all__ = ["DetectorUnavailable", "Dlib68", "FaceLandmarks"]
