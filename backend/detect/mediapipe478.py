"""MediaPipe's face mesh (468 points) and irises (5 + 5 points): 478 dense landmarks, offline.

The models are MediaPipe's own (Apache-2.0), converted once from TFLite to ONNX by
tools/build_mediapipe_onnx.py and shipped in assets/mediapipe/; onnxruntime runs them (CUDA when
present). Face boxes come from dlib's detector, or where it finds no face the mesh accepts, from
MediaPipe's own short-range detector (blazeface.py: hands over the mouth, tilted heads, hard
light). Two mesh passes follow, as MediaPipe's tracking does: the small first face mesh (V1,
192 px) on a square crop around the box only frames the face (once more on a crop turned
upright by its eye corners when the head is tilted past REFRAME_ANGLE: V1 places points worse
on a tilted face); the second face mesh (V2, 256 px, from face_landmarker.task) then runs on a
crop turned upright by the outer eye corners (points 33, 263) and framed 1.5x around the first
pass's points. V2 places the points closer to where they belong; V1 frames as well in a fraction of the time.
Each eye is then cropped (2.3x its corner distance, upright) for the iris model, which finds the
iris better than V2's own iris points (figures: benchmarks/NOTES.md, "Face mesh V2").

Point order is MediaPipe's: 0..467 the mesh, 468..472 the iris of the eye at 33/133 (the subject's
right eye, image left on a frontal face; 468 its centre), 473..477 the other (473 its centre).
Points are image pixels (x right, y down)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np

from .dlib68 import DetectorUnavailable, FaceLandmarks
from .mediapipe_models import ASSETS, onnx_session
from .point_sets import MEDIAPIPE478

FRAME_SIZE, MESH_SIZE, IRIS_SIZE = 192, 256, 64   # model input sides, pixels
ROI_SCALE, EYE_SCALE = 1.5, 2.3         # crop side over the points' extent (MediaPipe's values)
MESH_POINTS = 468                        # the face mesh's points; the irises follow them
REFRAME_ANGLE = np.radians(10)           # a first crop this far off upright is framed once more
MIN_FACE_SCORE = 0.5                    # the mesh model's face-presence probability
MODELS = ("face_landmark.onnx", "face_landmarks_detector.onnx", "iris_landmark.onnx")   # frame, mesh, iris
# the mesh pass's weights: Google's, or the same network fine-tuned to OpenHead's embedding of the
# points on renders of OpenHead (training/train_landmarks.py)
MESH_WEIGHTS = {"google": "face_landmarks_detector.onnx", "openhead": "face_landmarks_openhead.onnx"}


@dataclass(frozen=True)
class Roi:
    """A square, rotated region: centre (x, y) and side in image pixels, angle in radians
    (counter-clockwise turn of the region's x axis from the image's)."""
    centre: np.ndarray
    side: float
    angle: float

    def matrix(self, size: int) -> np.ndarray:
        """(2, 3) affine: image pixels -> crop pixels of a size x size crop."""
        c, s = np.cos(self.angle), np.sin(self.angle)
        k = size / self.side
        R = np.array([[c, s], [-s, c]]) * k
        return np.hstack([R, (size / 2 - R @ self.centre)[:, None]])


def roi_from_points(points: np.ndarray, corners: tuple[int, int], scale: float) -> Roi:
    """Upright square around points (N, 2): the x axis along corners[0] -> corners[1], the side
    `scale` times the longer extent of the points in that frame."""
    d = points[corners[1]] - points[corners[0]]
    angle = float(np.arctan2(d[1], d[0]))
    c, s = np.cos(angle), np.sin(angle)
    local = points @ np.array([[c, -s], [s, c]])            # rotate by -angle
    lo, hi = local.min(0), local.max(0)
    centre = np.array([[c, -s], [s, c]]) @ ((lo + hi) / 2)
    return Roi(centre, float(max(hi - lo)) * scale, angle)


def warp(image: np.ndarray, roi: Roi, size: int) -> tuple[np.ndarray, np.ndarray]:
    """-> (crop (1, size, size, 3) float32 in [0, 1], its (2, 3) image -> crop matrix)."""
    M = roi.matrix(size)
    crop = cv2.warpAffine(image, M, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return crop[None].astype(np.float32) / 255.0, M


def to_image(points: np.ndarray, M: np.ndarray) -> np.ndarray:
    """Crop pixels (N, 2) -> image pixels through the inverse of M."""
    inv = cv2.invertAffineTransform(M)
    return points @ inv[:, :2].T + inv[:, 2]


@dataclass
class DenseFace(FaceLandmarks):
    """478 points (image pixels) and the mesh model's face-presence probability."""
    score: float = 1.0

    OUTER_EYE_CORNERS = MEDIAPIPE478.outer_eye_corners


class MediaPipe478:
    """The dense landmarker. Faces are found by dlib's HOG or CNN detector (`dlib_detector`), then
    by BlazeFace where dlib finds none; `mesh_weights` names the mesh pass's weights (MESH_WEIGHTS)."""

    name = "mediapipe"
    point_set = "mediapipe478"

    def __init__(self, dlib_detector: str = "hog", device: str = "cpu", mesh_weights: str = "google"):
        from .blazeface import BlazeFace
        from .dlib68 import Dlib68

        if mesh_weights not in MESH_WEIGHTS:
            raise ValueError(f"unknown mesh weights {mesh_weights!r}: use one of {sorted(MESH_WEIGHTS)}")
        self.mesh_weights = mesh_weights
        self.models = (MODELS[0], MESH_WEIGHTS[mesh_weights], MODELS[2])
        missing = [n for n in self.models if not (ASSETS / n).exists()]
        if missing:
            raise DetectorUnavailable(f"the dense landmark models {missing} are missing from {ASSETS}; rebuild "
                                      "them with tools/build_mediapipe_onnx.py (Google's) or `headsmith-train landmarks "
                                      "--export assets/mediapipe` (the OpenHead-tuned mesh), see their docstrings")
        self._boxes = Dlib68(upsample=1, detector=dlib_detector)
        self._near_faces = BlazeFace(device)
        self.device = device

    @cached_property
    def _sessions(self):
        return tuple(onnx_session(ASSETS / n, self.device) for n in self.models)

    def frame(self, image: np.ndarray, roi: Roi) -> np.ndarray:
        """-> (468, 2) rough mesh points (V1) in image pixels, to frame the mesh pass."""
        x, M = warp(image, roi, FRAME_SIZE)
        out = self._sessions[0].run(None, {"in0": x})
        pts = next(o for o in out if o.size == 3 * MESH_POINTS).reshape(MESH_POINTS, 3)[:, :2]
        return to_image(pts, M)

    def mesh_roi(self, image: np.ndarray, first: Roi) -> Roi:
        """The mesh pass's crop: upright by the eye corners of the first pass's points on `first`,
        framed once more when that crop was far from upright (a tilted head)."""
        roi = roi_from_points(self.frame(image, first), MEDIAPIPE478.outer_eye_corners, ROI_SCALE)
        if abs(roi.angle - first.angle) > REFRAME_ANGLE:
            roi = roi_from_points(self.frame(image, roi), MEDIAPIPE478.outer_eye_corners, ROI_SCALE)
        return roi

    def mesh(self, image: np.ndarray, roi: Roi) -> tuple[np.ndarray, float]:
        """-> (468, 2) mesh points (V2) in image pixels, face-presence probability."""
        x, M = warp(image, roi, MESH_SIZE)
        points, presence, _ = self._sessions[1].run(None, {"in0": x})   # (1,1,1,478*3), (1,1,1,1) logit
        pts = points.reshape(-1, 3)[:MESH_POINTS, :2]
        return to_image(pts, M), float(1 / (1 + np.exp(-float(presence.ravel()[0]))))

    def iris(self, image: np.ndarray, mesh: np.ndarray) -> np.ndarray:
        """-> (10, 2) iris points (centre first, then four on the rim) of both eyes, image pixels.
        The model sees an eye with its outer corner on the left; the other eye is mirrored."""
        out = []
        for k, (outer, inner) in enumerate(MEDIAPIPE478.eye_corners):    # image-left eye first
            ends = [outer, inner] if k == 0 else [inner, outer]            # both crops upright
            roi = roi_from_points(mesh[ends], (0, 1), EYE_SCALE)
            x, M = warp(image, roi, IRIS_SIZE)
            if k == 1:
                x = x[:, :, ::-1].copy()
            res = self._sessions[2].run(None, {"in0": x})
            iris = next(o for o in res if o.size == 15).reshape(5, 3)[:, :2].copy()
            if k == 1:
                iris[:, 0] = IRIS_SIZE - iris[:, 0]
            out.append(to_image(iris, M))
        return np.concatenate(out)

    def landmarks(self, image: np.ndarray, box: tuple[int, int, int, int], eyes: np.ndarray | None = None) -> DenseFace:
        """478 points of the face in `box` (left, top, right, bottom pixels): dlib's box, or
        BlazeFace's with its eye points (2, 2) (the subject's right eye first), which turn the
        first crop upright."""
        l, t, r, b = box
        if eyes is None:
            # dlib's box is tighter than the detections MediaPipe's ROI rule expects and sits on the
            # brows: widened 1.1x and moved 5 % down (the second pass frames the face from its points)
            first = Roi(np.array([(l + r) / 2, (t + b) / 2 + 0.05 * (b - t)]), ROI_SCALE * 1.1 * max(r - l, b - t), 0.0)
        else:   # MediaPipe's own rule for its detections: 1.5x the box, turned by the eyes
            d = eyes[1] - eyes[0]
            first = Roi(np.array([(l + r) / 2, (t + b) / 2]), ROI_SCALE * max(r - l, b - t), float(np.arctan2(d[1], d[0])))
        mesh, score = self.mesh(image, self.mesh_roi(image, first))
        return DenseFace(box, np.concatenate([mesh, self.iris(image, mesh)]).astype(np.float64), score)

    def follow(self, image: np.ndarray, previous: DenseFace | None) -> DenseFace | None:
        """Video: the face framed from the previous frame's points (one mesh pass, as MediaPipe's
        own tracking does), the largest detected face when that fails or there is none before;
        None when the frame shows no face."""
        if previous is not None:
            mesh, score = self.mesh(image, roi_from_points(previous.points[:MESH_POINTS], MEDIAPIPE478.outer_eye_corners,
                                                           ROI_SCALE))
            if score >= MIN_FACE_SCORE:
                return DenseFace(previous.box, np.concatenate([mesh, self.iris(image, mesh)]).astype(np.float64),
                                 score)
        faces = self.detect(image)
        return faces[0] if faces else None

    def detect(self, image: np.ndarray) -> list[DenseFace]:
        """image: (H, W, 3) uint8 RGB. Faces the mesh model accepts, largest box first."""
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError("MediaPipe478.detect expects an RGB uint8 image (H, W, 3)")
        faces = [self.landmarks(image, f.box) for f in self._boxes.boxes(image)]
        faces = [f for f in faces if f.score >= MIN_FACE_SCORE]
        if not faces:
            faces = [self.landmarks(image, f.box, f.eyes) for f in self._near_faces.detect(image)]
            faces = [f for f in faces if f.score >= MIN_FACE_SCORE]
        return faces
