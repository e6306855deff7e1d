"""Loose hair strands over the face in a face crop: thin dark lines, long and falling rather than
lying along the brows, over the forehead, the brows, the lids and the temples, so that the unwrap
leaves them out of the albedo (and the detail out of the relief) as it does glasses frames.

The colour test (texture/occlusion.py) drops dark hair over plain forehead skin, but not over the
brows and within a centimetre of them and of the eyes, whose colours are not skin; there strands
stayed in the albedo as dark scribbles. What sets a strand apart from the face's own dark lines
is its shape:
- it is thin and darker than the skin on *both* sides (the Hessian's line response of the log
  luminance, confirmed by sampling across the line: a brow's or a silhouette's edge is dark on one
  side only);
- it is long (at least STRAND_LENGTH of the iod along its skeleton): pores, lashes and brow hairs
  are short;
- it falls (its main direction at least STEEP_DEG from the eye axis) and is not mostly on a brow
  or round an eye: lid creases, forehead wrinkles and brows lie along the eye axis, and the
  upper lid's fold, which curves down at the eye's outer corner, hugs the eye.
Only inside the face (the points' hull shrunk by FACE_INSET, away from the outline and the ears,
whose rims are dark lines too) and above the eyes' middle (the eyes themselves left out) is
anything looked for. From the strands found, the falling dark lines within STRAND_GAP of them
are followed (CONTINUE_STEPS rounds) anywhere on the face off the lids: a strand's piece that
crosses a brow (dark on dark), runs on over a lid margin or down the cheek, or tangles with
another strand. Lines farther than STRAND_GAP from every strand (lashes, smile lines, the
mouth), and the lids themselves, are never taken.

Crop pixels (x right, y down); iod: the outer eye corners' distance in them. Thresholds and what
they found on real and synthetic faces: benchmarks/NOTES.md ("Loose hair strands", session 42).
"""
from __future__ import annotations

import cv2
import numpy as np
from scipy.ndimage import find_objects, label
from skimage.morphology import skeletonize

from .point_sets import PointSet, eyes_apart

LINE_SCALES_PX = (1.0, 1.6)      # Gaussian sigmas of the line response, at a 512 px crop
ACROSS = (2.0, 3.0)              # sampled across the line this many sigmas either way
LINE_STRENGTH = 0.08             # the scale-normalised log-luminance curvature of a strand, at least
LINE_DEPTH = 0.15                # log units the line lies below the darker of its two sides, at least
STRAND_LENGTH = 0.12             # iod along the skeleton, at least
STEEP_DEG = 30.0                 # the main direction's angle to the eye axis, at least
ELONGATION = 3.0                 # the main direction's spread over the other's (standard deviations)
ON_FEATURE = 0.8                 # a component with more of its skeleton on a brow or a lid's
                                 # fold is the brow's or the fold's
BROW_HALF_WIDTH = 0.06           # iod either side of a brow's upper edge
LID_FOLD = 0.12                  # iod round each eye's lids: where the upper lid's fold runs
ABOVE_EYES = 0.03                # iod above the eyes' centres: the search's lower edge between them
EYE_MARGIN = 0.04                # iod around each eye's lids, left out of the search
LID_MARGIN = 0.01                # iod around them, left out of where strands are followed
FACE_INSET = 0.06                # iod: the points' hull shrunk by this
TEMPLE = 0.62                    # iod from the eyes' middle along the eye axis: beside the eyes,
TEMPLE_DEPTH = 0.7               # down to this far below them (iod), the temples and cheek sides
GROW = 1 / 256                   # of the crop's side: a strand's mask grown by this, then softened
CONTINUE_STEPS = 2               # rounds of following the strands found along the falling lines near them
STRAND_GAP = 0.1                 # iod: how far such a line may lie from a strand (across an eye's margin)


def dark_lines(grey: np.ndarray) -> np.ndarray:
    """(H, W) float32 luminance in [0, 1] -> (H, W) bool: thin lines darker than both sides."""
    log = np.log(grey + 0.03)
    H, W = grey.shape
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float32)
    found = np.zeros(grey.shape, bool)
    for sigma in LINE_SCALES_PX:
        sigma = sigma * H / 512
        g = cv2.GaussianBlur(log, (0, 0), sigma)
        xx = cv2.Sobel(g, cv2.CV_32F, 2, 0, ksize=3)
        yy = cv2.Sobel(g, cv2.CV_32F, 0, 2, ksize=3)
        xy = cv2.Sobel(g, cv2.CV_32F, 1, 1, ksize=3)
        half_trace, root = (xx + yy) / 2, np.sqrt(((xx - yy) / 2) ** 2 + xy ** 2)
        across, along = half_trace + root, half_trace - root          # a valley curves up across it
        strength = np.clip(across - np.abs(along), 0, None) * sigma * sigma
        angle = 0.5 * np.arctan2(2 * xy, xx - yy)                       # the direction across
        nx, ny = np.cos(angle), np.sin(angle)
        depth = np.full_like(g, -np.inf)
        for k in ACROSS:
            d = k * sigma
            a = cv2.remap(g, xs + d * nx, ys + d * ny, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            b = cv2.remap(g, xs - d * nx, ys - d * ny, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            depth = np.maximum(depth, np.minimum(a, b) - g)
        found |= (strength > LINE_STRENGTH) & (depth > LINE_DEPTH)
    return found


def _face_frame(points: np.ndarray, point_set: PointSet) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """-> (the eyes' middle (2,), the eye axis (2,) unit, image-left to image-right, the
    downward normal (2,) unit, iod) in crop pixels."""
    _, ex, iod = eyes_apart(points, point_set)
    ey = np.array([-ex[1], ex[0]]) * (1 if ex[0] >= 0 else -1)
    return points[list(point_set.eyes)].mean(0), ex, ey, iod


def _search_region(face: np.ndarray, points: np.ndarray, point_set: PointSet) -> np.ndarray:
    """face (H, W) bool, _face's -> (H, W) bool: inside the face, above the eyes' middle or beside
    the eyes, eyes left out."""
    mid, ex, ey, iod = _face_frame(points, point_set)
    shape = face.shape
    ys, xs = np.mgrid[0:shape[0], 0:shape[1]]
    q = np.stack([xs - mid[0], ys - mid[1]], -1).astype(np.float32)
    x, y = q @ ex / iod, q @ ey / iod
    # above the hull's top (a 68-point hull ends at the brows): the forehead between its sides
    span = (points - mid) @ ex / iod
    forehead = (y < -ABOVE_EYES) & (x > span.min() + FACE_INSET) & (x < span.max() - FACE_INSET)
    region = forehead | (face & (y < -ABOVE_EYES)) | (face & (np.abs(x) > TEMPLE) & (y < TEMPLE_DEPTH))
    return region & ~_around_eyes(shape, points, point_set, EYE_MARGIN * iod)


def _around_eyes(shape: tuple[int, int], points: np.ndarray, point_set: PointSet, reach: float) -> np.ndarray:
    """(H, W) bool: each eye's lid points' hull grown by reach pixels."""
    eyes = np.zeros(shape, np.uint8)
    for lids in eyes_apart(points, point_set)[0]:
        cv2.fillConvexPoly(eyes, cv2.convexHull(np.round(lids).astype(np.int32)), 1)
    grow = max(1, round(reach))
    return cv2.dilate(eyes, np.ones((2 * grow + 1,) * 2, np.uint8)) > 0


def _brows_and_folds(shape: tuple[int, int], points: np.ndarray, point_set: PointSet, iod: float) -> np.ndarray:
    """(H, W) bool: each brow's upper edge thickened by BROW_HALF_WIDTH either way, and the band
    within LID_FOLD of each eye's lids, where the upper lid's fold runs (it curves down at the
    eye's outer corner as steeply as a strand)."""
    out = np.zeros(shape, np.uint8)
    width = max(1, round(2 * BROW_HALF_WIDTH * iod))
    for brow in point_set.brows:
        cv2.polylines(out, [np.round(points[list(brow)]).astype(np.int32)], False, 1, width)
    return (out > 0) | _around_eyes(shape, points, point_set, LID_FOLD * iod)


def _axes(skeleton: np.ndarray, ex: np.ndarray) -> tuple[float, float]:
    """skeleton (h, w) bool, at least two pixels -> (its main direction's angle to the eye axis,
    degrees; the main direction's spread over the other's, standard deviations)."""
    ys, xs = np.nonzero(skeleton)
    p = np.stack([xs, ys], 1).astype(np.float64)
    p -= p.mean(0)
    spread, directions = np.linalg.eigh(p.T @ p)
    angle = np.degrees(np.arccos(min(1.0, abs(float(directions[:, 1] @ ex)))))
    return angle, float(np.sqrt(spread[1] / max(spread[0], 1e-6)))


def _is_strand(skeleton: np.ndarray, on_feature: np.ndarray, ex: np.ndarray, iod: float) -> bool:
    """skeleton (h, w) bool of one component, on_feature the same box of _brows_and_folds: long,
    falling, elongated and not a brow's or a lid fold's."""
    ys, xs = np.nonzero(skeleton)
    if len(xs) < STRAND_LENGTH * iod or on_feature[ys, xs].mean() > ON_FEATURE:
        return False
    angle, elongation = _axes(skeleton, ex)
    return angle >= STEEP_DEG and elongation >= ELONGATION


def _closed(lines: np.ndarray) -> np.ndarray:
    """Line pixels with one-pixel gaps closed (a strand's line response dips where it crosses
    another)."""
    return cv2.morphologyEx(lines.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8)) > 0


def _face(shape: tuple[int, int], points: np.ndarray, iod: float) -> np.ndarray:
    """(H, W) bool: the points' hull shrunk by FACE_INSET (the outline and the ears left out)."""
    face = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(face, cv2.convexHull(np.round(points).astype(np.int32)), 1)
    inset = max(1, round(FACE_INSET * iod))
    return cv2.erode(face, np.ones((2 * inset + 1,) * 2, np.uint8)) > 0


def _components(lines: np.ndarray):
    """Yield (box, component (h, w) bool, its skeleton (h, w) bool) per 8-connected component."""
    labels, _ = label(lines, structure=np.ones((3, 3)))
    skeleton = skeletonize(lines)
    for i, box in enumerate(find_objects(labels), start=1):
        component = labels[box] == i
        yield box, component, skeleton[box] & component


def _falls(branch: np.ndarray, ex: np.ndarray) -> bool:
    """A branch (h, w) bool of a skeleton, three pixels or more, runs at least STEEP_DEG from the
    eye axis."""
    return int(branch.sum()) >= 3 and _axes(branch, ex)[0] >= STEEP_DEG


def _continued(keep: np.ndarray, lines: np.ndarray, ex: np.ndarray, reach: np.ndarray,
               gap: int) -> np.ndarray:
    """keep (H, W) uint8, the strands found; lines (H, W) bool, the face's dark lines off the
    eyes -> keep with the falling branches of the lines within `gap` pixels of a strand added:
    where a strand crosses a brow (dark on dark), or runs on over the lids and cheeks below the
    search region after the margin round an eye cut it."""
    near = cv2.dilate(keep, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * gap + 1,) * 2)) > 0
    out = keep.copy()
    for box, component, bones in _components(lines & ~(keep > 0)):
        if not near[box][component].any():
            continue
        for branch in _branches(bones):
            if (branch & near[box]).any() and _falls(branch, ex):
                out[box][component & (cv2.dilate(branch.astype(np.uint8), reach) > 0)] = 1
    return out


def _branches(skeleton: np.ndarray) -> list:
    """skeleton (h, w) bool, one component's -> its branches (h, w) bool each: the skeleton cut at
    its junctions (pixels with three or more skeleton neighbours), so that of lines that cross or
    touch (strands tangled, a strand over a lid's margin) each is judged by its own direction."""
    neighbours = cv2.filter2D(skeleton.astype(np.uint8), -1, np.ones((3, 3), np.float32),
                              borderType=cv2.BORDER_CONSTANT) - skeleton
    junctions = cv2.dilate((skeleton & (neighbours >= 3)).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    labels, count = label(skeleton & ~junctions, structure=np.ones((3, 3)))
    return [labels == k for k in range(1, count + 1)]


def strand_mask(image: np.ndarray, points: np.ndarray, point_set: PointSet) -> np.ndarray | None:
    """image (H, W, 3) uint8 sRGB crop; points (N, 2) the detector's points in its pixels,
    numbered as point_set -> (H, W) float32 in [0, 1], 1 on the strands found (grown by GROW and
    softened beyond), or None when none is found."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    _, ex, _, iod = _face_frame(points, point_set)
    face = _face(grey.shape, points, iod)
    region = _search_region(face, points, point_set)
    found = dark_lines(grey)
    lines = _closed(found & region)
    all_lines = _closed(found & (region | (face & ~_around_eyes(grey.shape, points, point_set, LID_MARGIN * iod))))
    on_feature = _brows_and_folds(grey.shape, points, point_set, iod)
    # a branch's pixels: its skeleton grown by the line's half width (twice the larger sigma)
    reach = np.ones((2 * max(1, round(LINE_SCALES_PX[-1] * 2 * grey.shape[0] / 512)) + 1,) * 2, np.uint8)
    keep = np.zeros(grey.shape, np.uint8)
    for box, component, bones in _components(lines):
        if _is_strand(bones, on_feature[box], ex, iod):
            keep[box][component] = 1
    if not keep.any():
        return None
    for _ in range(CONTINUE_STEPS):
        keep = _continued(keep, all_lines, ex, reach, max(1, round(STRAND_GAP * iod)))
    grow = max(1, round(grey.shape[0] * GROW))
    core = cv2.dilate(keep, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1,) * 2)).astype(np.float32)
    eyes = _around_eyes(grey.shape, points, point_set, 0)          # never the eyes themselves
    return (np.maximum(core, cv2.GaussianBlur(core, (0, 0), grow / 2 + 0.5)) * ~eyes).clip(0, 1)
