"""MediaPipe's face blendshape model: 52 ARKit-named expression weights from 146 of the 478 dense
points, offline.

The model is MediaPipe's own (`face_blendshapes.tflite` of `face_landmarker.task`, Apache-2.0; an
MLP-Mixer trained by Google on real faces), converted once to ONNX by tools/build_mediapipe_onnx.py
and run by onnxruntime. It reads the points MediaPipe's face landmarker gives (our MediaPipe478:
the V2 mesh and the iris model's irises, same order) in image pixels, and normalises them itself
(centred, divided by their mean distance from the centre), so the face's size and place in the
image do not matter. Its first output, "_neutral", is not an expression and is dropped; it has no
tongueOut. "Left" is the subject's left, as in ARKit (checked on renders in the tests).

The point subset and the output names are the layout of MediaPipe's face_blendshapes_graph.cc.
"""
from __future__ import annotations

from functools import cached_property

import numpy as np

from .dlib68 import DetectorUnavailable
from .mediapipe_models import ASSETS, onnx_session

ASSET = ASSETS / "face_blendshapes.onnx"

# the 146 of the 478 points the model reads (kLandmarksSubsetIdxs), in the model's input order
SUBSET = (
    0, 1, 4, 5, 6, 7, 8, 10, 13, 14, 17, 21, 33, 37, 39, 40, 46, 52, 53, 54, 55, 58, 61, 63, 65, 66, 67,
    70, 78, 80, 81, 82, 84, 87, 88, 91, 93, 95, 103, 105, 107, 109, 127, 132, 133, 136, 144, 145, 146,
    148, 149, 150, 152, 153, 154, 155, 157, 158, 159, 160, 161, 162, 163, 168, 172, 173, 176, 178, 181,
    185, 191, 195, 197, 234, 246, 249, 251, 263, 267, 269, 270, 276, 282, 283, 284, 285, 288, 291, 293,
    295, 296, 297, 300, 308, 310, 311, 312, 314, 317, 318, 321, 323, 324, 332, 334, 336, 338, 356, 361,
    362, 365, 373, 374, 375, 377, 378, 379, 380, 381, 382, 384, 385, 386, 387, 388, 389, 390, 397, 398,
    400, 402, 405, 409, 415, 454, 466, 468, 469, 470, 471, 472, 473, 474, 475, 476, 477,
)
# the model's 52 outputs (kBlendshapeNames): "_neutral", then ARKit's names but tongueOut, sorted
OUTPUTS = (
    "_neutral", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft", "eyeBlinkRight", "eyeLookDownLeft",
    "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight", "eyeLookOutLeft", "eyeLookOutRight",
    "eyeLookUpLeft", "eyeLookUpRight", "eyeSquintLeft", "eyeSquintRight", "eyeWideLeft", "eyeWideRight",
    "jawForward", "jawLeft", "jawOpen", "jawRight", "mouthClose", "mouthDimpleLeft", "mouthDimpleRight",
    "mouthFrownLeft", "mouthFrownRight", "mouthFunnel", "mouthLeft", "mouthLowerDownLeft",
    "mouthLowerDownRight", "mouthPressLeft", "mouthPressRight", "mouthPucker", "mouthRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthSmileLeft",
    "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight", "mouthUpperUpLeft", "mouthUpperUpRight",
    "noseSneerLeft", "noseSneerRight",
)


class MediaPipeBlendshapes:
    """points (478, 2) image pixels, MediaPipe's order -> ARKit weights in 0..1."""

    def __init__(self, device: str = "cpu"):
        if not ASSET.exists():
            raise DetectorUnavailable(f"the blendshape model {ASSET.name} is missing from {ASSET.parent}; "
                                      "rebuild it with tools/build_mediapipe_onnx.py (see its docstring)")
        self.device = device

    @cached_property
    def _session(self):
        return onnx_session(ASSET, self.device)

    def weights(self, points: np.ndarray) -> dict[str, float]:
        """{ARKit name: weight} for the 51 keys the model knows."""
        if points.shape != (478, 2):
            raise ValueError(f"the blendshape model reads MediaPipe's 478 points (478, 2), got {points.shape}")
        x = np.ascontiguousarray(points[list(SUBSET)], np.float32)[None]
        out = self._session.run(None, {"in0": x})[0].ravel()
        return {name: float(w) for name, w in zip(OUTPUTS[1:], out[1:])}

    def in_order(self, points: np.ndarray, names: list[str]) -> np.ndarray:
        """(len(names),) weights in the order of `names` (a head model's expression names); keys
        the model does not know (tongueOut) are 0."""
        w = self.weights(points)
        return np.array([w.get(n, 0.0) for n in names])
