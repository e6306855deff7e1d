"""What the fit needs to know of each detector's point set: its size, its outer eye corners (the
inter-ocular distance), the eyelid and inner-lip pairs whose gaps the fit matches (eye and mouth
closure), the face contour, the irises, and how much each point is trusted.

Indices are the detector's own point numbers (iBUG-68 order; MediaPipe's 478-point order)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# MediaPipe's face oval (its FACEMESH_FACE_OVAL), from the forehead centre clockwise on the image:
# on a turned face these follow the silhouette, so the head model's embedding slides them with yaw.
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
             152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)


@dataclass(frozen=True)
class PointSet:
    name: str
    n_points: int
    outer_eye_corners: tuple[int, int]
    eyelid_pairs: tuple[tuple[int, int], ...]     # (upper, lower) lid points
    lip_pairs: tuple[tuple[int, int], ...]        # (upper, lower) inner-lip points
    contour: tuple[int, ...]                      # the face's outline (least reliable)
    eyes: tuple[int, ...]                         # eyelid points
    lips: tuple[int, ...]                         # lip points
    # the inner-lip points of the upper lip and of the lower lip, corners left out: on a closed
    # mouth they meet on the lip line, and the embedding must still put each on its own lip
    inner_lips: tuple[tuple[int, ...], tuple[int, ...]] = ((), ())
    iris_centres: tuple[int, int] | None = None   # image-left eye's first, when the detector has them
    eye_corners: tuple[tuple[int, int], ...] = ()  # (outer, inner) of each eye, image-left eye first
    lid_middles: tuple[tuple[int, int], ...] = ()  # (upper, lower) lid middle of each eye, same order
    box: tuple[int, ...] | None = None            # the points that frame the crop as iBUG's 68 do (None: all)
    hairline: tuple[int, ...] = ()                # points on the forehead's top edge (hair hides it)
    brows: tuple[tuple[int, ...], ...] = ()       # each brow's upper edge, inner to outer or outer to inner
    # the landmark term's weight in the fit's photometric stage (the image leads the identity
    # there): low for points that disagree with the model's by several % on turned or expressive
    # faces (iBUG-68 from dlib), high for MediaPipe's. Measured: benchmarks/NOTES.md.
    photometric_landmark_weight: float = 0.3

    def weights(self) -> np.ndarray:
        """(n_points,) trust of each point in the landmark term: the contour half, the hairline a
        tenth, eyes and lips one and a half (they carry expression and gaze), irises zero (the
        gaze stage uses them)."""
        w = np.ones(self.n_points)
        w[list(self.contour)] = 0.5
        w[list(self.hairline)] = 0.1
        w[list(self.eyes)] = 1.5
        w[list(self.lips)] = 1.5
        if self.iris_centres is not None:
            w[self.n_points - 10:] = 0.0
        return w


IBUG68 = PointSet(
    "ibug68", 68, (36, 45),
    eyelid_pairs=((37, 41), (38, 40), (43, 47), (44, 46)),
    lip_pairs=((61, 67), (62, 66), (63, 65)),
    contour=tuple(range(17)), eyes=tuple(range(36, 48)), lips=tuple(range(48, 68)),
    inner_lips=((61, 62, 63), (65, 66, 67)), brows=(tuple(range(17, 22)), tuple(range(22, 27))))

# MediaPipe's mesh: eyelids (upper, lower) and inner lips (upper, lower) as in its canonical mesh;
# the eye and lip rings are FACEMESH_LEFT_EYE/RIGHT_EYE and FACEMESH_LIPS.
_MP_EYES = (33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173,
            263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398)
_MP_LIPS = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 185, 40, 39, 37, 0, 267, 269, 270, 409,
            78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 191, 80, 81, 82, 13, 312, 311, 310, 415)
MEDIAPIPE478 = PointSet(
    "mediapipe478", 478, (33, 263),
    eyelid_pairs=((160, 144), (159, 145), (158, 153), (387, 373), (386, 374), (385, 380)),
    lip_pairs=((81, 178), (82, 87), (13, 14), (312, 317), (311, 402)),
    contour=FACE_OVAL, eyes=_MP_EYES, lips=_MP_LIPS, iris_centres=(468, 473),
    inner_lips=((191, 80, 81, 82, 13, 312, 311, 310, 415), (95, 88, 178, 87, 14, 317, 402, 318, 324)),
    eye_corners=((33, 133), (263, 362)), lid_middles=((159, 145), (386, 374)),
    # the oval from temple to temple under the chin, and the brows: the extent of iBUG's 68
    box=FACE_OVAL[7:30] + (70, 63, 105, 66, 107, 336, 296, 334, 293, 300),
    hairline=FACE_OVAL[:7] + FACE_OVAL[30:], photometric_landmark_weight=4.0,
    brows=((70, 63, 105, 66, 107), (336, 296, 334, 293, 300)))

POINT_SETS = {p.name: p for p in (IBUG68, MEDIAPIPE478)}


def eyes_apart(points: np.ndarray, point_set: PointSet) -> tuple[np.ndarray, np.ndarray, float]:
    """points (N, 2) pixels, numbered as point_set -> (each eye's eyelid points, the first outer
    corner's eye first, as a list of two (K, 2) arrays split at the outer corners' middle; the
    unit eye axis (2,) from the first outer corner to the second; the iod, their distance)."""
    outer = points[list(point_set.outer_eye_corners)]
    axis = outer[1] - outer[0]
    iod = float(np.linalg.norm(axis))
    lids = points[list(point_set.eyes)]
    side = (lids - outer.mean(0)) @ axis > 0
    return [lids[~side], lids[side]], axis / max(iod, 1e-9), iod
