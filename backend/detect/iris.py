"""Iris centres inside the 68-point eye contours, for the gaze: dlib's points stop at the
eyelids, so the eye pose needs a measurement of its own.

Method: the iris is the dark disk inside the bright sclera. In each eye opening (the polygon of
its six landmarks, resampled so the eye is EYE_WIDTH_PX wide) every candidate centre is scored
by the mean darkness of the visible part of a disk of the expected iris radius minus the mean
darkness of the rest of the opening. Around the best one, a two-tone circle (iris grey on
sclera grey) is fitted by least squares over centre and radius, to a quarter pixel. An eye
counts as not seen when it is nearly closed, too small, or shows no iris/sclera contrast (then
the fit leaves that eye's pose alone).

Frames: pixels of the image given (x right, y down).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# dlib's eye contours, in image order: 36-41 is the image-left eye (the subject's right eye on
# a photo facing the camera), 42-47 the image-right eye (the subject's left).
EYE_POINTS = (slice(36, 42), slice(42, 48))
# iris diameter ~11.7 mm over an eye opening (corner to corner) of ~28-30 mm
IRIS_RADIUS_OF_EYE_WIDTH = 0.2
EYE_WIDTH_PX = 48          # working resolution of the eye patch
MIN_EYE_WIDTH_PX = 8       # below this in the photo the iris is a couple of pixels
LID_MARGIN_PX = 1          # at EYE_WIDTH_PX, rows dropped next to each lid
MIN_OPENING = 0.14         # eye height / width below which the eye counts as closed
MIN_CONTRAST = 0.06        # sclera minus iris darkness (0..1) below which no iris is seen


@dataclass
class Iris:
    center: np.ndarray     # (2,) pixels
    radius: float          # pixels, of the fitted circle
    contrast: float        # mean darkness inside the iris disk minus outside it, 0..1


def eye_opening(points: np.ndarray) -> float:
    """Height over width of one eye's six contour points (dlib order: corner, 2 upper, corner, 2 lower)."""
    w = np.linalg.norm(points[3] - points[0])
    h = (np.linalg.norm(points[1] - points[5]) + np.linalg.norm(points[2] - points[4])) / 2
    return float(h / max(w, 1e-9))


def _disk(radius: float) -> np.ndarray:
    n = int(np.ceil(radius))
    y, x = np.mgrid[-n:n + 1, -n:n + 1]
    return (x * x + y * y <= radius * radius).astype(np.float32)


def find_iris(gray: np.ndarray, points: np.ndarray) -> Iris | None:
    """gray: (H, W) float32 luminance in [0, 1]; points: (6, 2) one eye's contour in pixels."""
    width = float(np.linalg.norm(points[3] - points[0]))
    if width < MIN_EYE_WIDTH_PX or eye_opening(points) < MIN_OPENING:
        return None
    scale = EYE_WIDTH_PX / width
    lo = points.min(0) - 0.3 * width
    hi = points.max(0) + 0.3 * width
    size = np.ceil((hi - lo) * scale).astype(int)
    M = np.array([[scale, 0, -lo[0] * scale], [0, scale, -lo[1] * scale]], np.float64)
    patch = cv2.warpAffine(gray, M, (int(size[0]), int(size[1])), flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE)
    poly = (points - lo) * scale
    mask = np.zeros(patch.shape, np.float32)
    # fillPoly with 4 fractional bits: sub-pixel polygon corners
    cv2.fillPoly(mask, [np.round(poly * 16).astype(np.int32)], 1.0, lineType=cv2.LINE_8, shift=4)
    # keep off the lid margins (lashes, the lid's own shading, landmarks a pixel or two off)
    if LID_MARGIN_PX > 0:
        mask = cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_RECT, (1, 2 * LID_MARGIN_PX + 1)))
    n_all = float(mask.sum())
    if n_all < 10:
        return None
    radius = IRIS_RADIUS_OF_EYE_WIDTH * EYE_WIDTH_PX
    disk = _disk(radius)
    dark = (1.0 - patch) * mask
    s_in = cv2.filter2D(dark, -1, disk, borderType=cv2.BORDER_CONSTANT)
    n_in = cv2.filter2D(mask, -1, disk, borderType=cv2.BORDER_CONSTANT)
    n_out = n_all - n_in
    mean_in = s_in / np.maximum(n_in, 1e-6)
    mean_out = (float(dark.sum()) - s_in) / np.maximum(n_out, 1e-6)
    score = mean_in - mean_out
    # the centre lies in the opening, a third of the disk is visible and some sclera remains
    valid = (mask > 0) & (n_in > 0.33 * disk.sum()) & (n_out > 0.1 * n_all)
    if not valid.any():
        return None
    score = np.where(valid, score, -np.inf)
    y, x = np.unravel_index(int(np.argmax(score)), score.shape)
    best = float(score[y, x])
    if best < MIN_CONTRAST:
        return None
    centre, r_fit = _two_tone_circle(patch, mask, np.array([x, y], np.float64), radius)
    return Iris(centre / scale + lo, r_fit / scale, best)


def _two_tone_circle(patch: np.ndarray, mask: np.ndarray, centre: np.ndarray, radius: float):
    """Refine centre and radius by least squares of a two-tone model inside the opening: an
    anti-aliased disk of one grey level (iris) on another (sclera). The parts the lids hide are
    outside the mask and do not count, so a half-covered iris still pins its circle. Grid search
    around the template's answer, coarse then fine."""
    ys, xs = np.nonzero(mask > 0)
    g = patch[ys, xs].astype(np.float64)
    best = (np.inf, centre, radius)
    for step, span in ((1.0, 4.0), (0.25, 1.0)):
        c0, r0 = best[1], best[2]
        offs = np.arange(-span, span + 1e-9, step)
        radii = r0 + np.arange(-span, span + 1e-9, step) if step < 1 else \
            np.arange(0.65 * radius, 1.4 * radius + 1e-9, 0.5)
        cx = (c0[0] + offs)[:, None, None, None]
        cy = (c0[1] + offs)[None, :, None, None]
        rr = radii[None, None, :, None]
        dist = np.sqrt((xs[None, None, None] - cx) ** 2 + (ys[None, None, None] - cy) ** 2)
        w = np.clip(rr - dist + 0.5, 0.0, 1.0)                 # (X, Y, R, N) iris coverage
        # per candidate: g ~ a w + b (1 - w); normal equations of the 2x2 least squares
        sw, sww, n = w.sum(-1), (w * w).sum(-1), float(len(g))
        s1w = sw - sww                                          # sum w (1 - w)
        s11 = n - 2 * sw + sww                                   # sum (1 - w)^2
        gw, g1 = (w * g).sum(-1), g.sum() - (w * g).sum(-1)
        det = sww * s11 - s1w ** 2
        ok = (det > 1e-6) & (sw > 0.2 * np.pi * rr[..., 0] ** 2) & (n - sw > 0.1 * n)
        a = np.where(ok, (gw * s11 - g1 * s1w) / np.where(ok, det, 1), 0)
        b = np.where(ok, (g1 * sww - gw * s1w) / np.where(ok, det, 1), 0)
        sse = (g * g).sum() - a * gw - b * g1                   # residual at the optimum
        sse = np.where(ok & (a < b), sse, np.inf)               # the iris is the darker tone
        k = np.unravel_index(int(np.argmin(sse)), sse.shape)
        if np.isfinite(sse[k]) and sse[k] < best[0]:
            best = (float(sse[k]), np.array([c0[0] + offs[k[0]], c0[1] + offs[k[1]]]), float(radii[k[2]]))
    return best[1], best[2]


def find_irises(image: np.ndarray, landmarks: np.ndarray) -> list[Iris | None]:
    """image: (H, W, 3) uint8 RGB; landmarks: (68, 2) pixels. -> [image-left eye, image-right eye],
    None where that iris is not seen."""
    gray = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    return [find_iris(gray, np.asarray(landmarks[s], np.float64)) for s in EYE_POINTS]


def iris_array(irises: list[Iris | None]) -> np.ndarray:
    """(2, 2) centres in pixels, NaN rows for eyes not seen: the form the fit takes."""
    return np.array([i.center if i is not None else (np.nan, np.nan) for i in irises], np.float64)
