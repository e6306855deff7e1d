"""Glasses frames in a face crop, found as a thin line that rings each eye around the detected eye
points, so that the unwrap leaves them out of the albedo (and so the detail out of the relief)
where they cross the skin, the brows and the eye margins alike; the texture's completion then
fills what they covered.

Where frames cross skin the colour test (occlusion.py) may drop them, but not where they lie on
the brows, the lids or anything else that is not plain skin, and thin metal frames are close to
skin in colour. What sets a frame apart is its shape: one line that goes all the way round the eye
at a distance, below the eye as well as above it. Around each eye the photo's thin-line response
(the largest Hessian eigenvalue of the luminance, scale-normalised, over a few scales) is sampled
on rays, and the best closed path at one ray step per angle step is found by dynamic programming.
Below the eye (where no brow or lid line competes) a frame's path stands far above the response
around it on nearly every ray; a bare face's does not. Both eyes must show one. Sunglasses (a
lens much darker than the skin round its rim) are left whole: without their rims the dark lenses
would meet filled skin, and the eyes behind them are unknown anyway.

Frames: crop pixels (x right, y down), as the crop images the fit used; iod: the outer eye
corners' distance in those pixels. Thresholds and their spread on real and synthetic faces:
benchmarks/NOTES.md ("Glasses frames: tried, not landed", session 34, "Eye sockets, glasses
frames", session 41, and the ring's height, session 46).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .point_sets import PointSet, eyes_apart

RIDGE_SCALES_PX = (1.0, 2.0, 3.5)   # at a 512 px crop (scaled with the crop)
RING_RADII = (0.22, 0.46)           # the searched frame radius, in iod (along x; y is RING_ASPECT of it)
RING_ASPECT = 0.85                  # tall enough for lenses whose lower rim sits well below the eye
ANGLES, RADII = 96, 48
BACKGROUND_GAP = 0.15               # iod: rays' samples this far from the path are its background
STANDS_OUT = 3.0                    # a ray's path value over the background's median
FRAME_SHARE = 0.45                  # share of the rays below the eye where it stands out: a frame
SMOOTH_RAYS = 9
SEED_REACH = 4                      # samples (of 0.0075 iod) either way of the path
DARK_LENS = 0.5                     # a lens darker than this share of the skin round its rim is
                                    # a sunglass lens
RIM_GROW = 1 / 128                  # of the crop's side: the measured rims are grown by this, all
                                    # out (their anti-aliased edges and shadow), then softened
MAX_HALF_WIDTH = 0.09               # iod: a frame's side, either way from the path (the
                                    # path may follow either edge of a thick rim)


@dataclass
class EyeRing:
    """The best closed thin-line path around one eye: points (ANGLES, 2) crop pixels, and the share
    of the rays below the eye where it stands out of its background."""

    points: np.ndarray
    below_share: float


def line_response(grey: np.ndarray) -> np.ndarray:
    """(H, W) float32 luminance in [0, 1] -> (H, W) thin-line strength (dark or light lines)."""
    best = np.zeros_like(grey)
    for s in RIDGE_SCALES_PX:
        s = s * grey.shape[0] / 512
        g = cv2.GaussianBlur(grey, (0, 0), s)
        xx = cv2.Sobel(g, cv2.CV_32F, 2, 0, ksize=3)
        yy = cv2.Sobel(g, cv2.CV_32F, 0, 2, ksize=3)
        xy = cv2.Sobel(g, cv2.CV_32F, 1, 1, ksize=3)
        half_trace, root = (xx + yy) / 2, np.sqrt(((xx - yy) / 2) ** 2 + xy ** 2)
        best = np.maximum(best, np.maximum(np.abs(half_trace + root), np.abs(half_trace - root)) * s * s)
    return best


def _ray_grid(centre: np.ndarray, iod: float) -> tuple[np.ndarray, np.ndarray]:
    """(ANGLES, RADII) x and y of the rays' samples (float32), angle 0 towards +x, pi/2 below."""
    th = np.linspace(0, 2 * np.pi, ANGLES, endpoint=False)[:, None]
    r = np.linspace(*RING_RADII, RADII)[None] * iod
    return ((centre[0] + np.cos(th) * r).astype(np.float32),
            (centre[1] + np.sin(th) * r * RING_ASPECT).astype(np.float32))


def _closed_path(values: np.ndarray) -> np.ndarray:
    """(ANGLES, RADII) -> (ANGLES,) radius index per angle maximising the summed values, moving at
    most one index per angle; run round twice and the second lap kept, so the path closes."""
    v = np.vstack([values, values])
    acc, back = v[0].copy(), np.zeros(v.shape, int)
    idx = np.arange(values.shape[1])
    for k in range(1, len(v)):
        options = np.stack([np.r_[-np.inf, acc[:-1]], acc, np.r_[acc[1:], -np.inf]])   # from r-1, r, r+1
        step = options.argmax(0)
        acc = options.max(0) + v[k]
        back[k] = idx + step - 1
    path = np.empty(len(v), int)
    path[-1] = int(acc.argmax())
    for k in range(len(v) - 1, 0, -1):
        path[k - 1] = back[k, path[k]]
    return path[len(values):]


def eye_ring(response: np.ndarray, centre: np.ndarray, iod: float) -> EyeRing:
    """The best closed path of `response` (line_response) round one eye centre (crop pixels)."""
    mx, my = _ray_grid(centre, iod)
    P = cv2.remap(response, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    path = _closed_path(P)
    k = np.arange(ANGLES)
    vals = P[k, path]
    gap = max(3, int(BACKGROUND_GAP / (RING_RADII[1] - RING_RADII[0]) * RADII))
    off = np.abs(np.arange(RADII)[None] - path[:, None]) > gap
    background = float(np.median(P[off])) if off.any() else 0.0
    th = np.linspace(0, 2 * np.pi, ANGLES, endpoint=False)
    below = (th > np.radians(20)) & (th < np.radians(160))
    share = float(np.mean(vals[below] > STANDS_OUT * max(background, 1e-9)))
    return EyeRing(np.stack([mx[k, path], my[k, path]], -1), share)


def _frame_band(grey: np.ndarray, ring: EyeRing, centre: np.ndarray, iod: float) -> np.ndarray:
    """(ANGLES, 2, 2) the frame's inner and outer edge per ray: the run of samples around the path,
    up to MAX_HALF_WIDTH either way, whose luminance differs from the median of the ray's twice as
    long stretch by at least half the largest difference within SEED_REACH samples of the path
    (the path follows the line response's peak, which for a thick rim lies just off its edge)."""
    steps = np.linspace(-2 * MAX_HALF_WIDTH, 2 * MAX_HALF_WIDTH, 49)[None, :, None] * iod
    direction = ring.points - centre
    direction /= np.linalg.norm(direction, axis=1, keepdims=True).clip(min=1e-6)
    pts = (ring.points[:, None] + direction[:, None] * steps).astype(np.float32)     # (A, 49, 2)
    lum = cv2.remap(grey, pts[..., 0], pts[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    dev = np.abs(lum - np.median(lum, axis=1, keepdims=True))
    mid = steps.shape[1] // 2
    runs = np.empty((len(pts), 2), int)
    for a in range(len(pts)):
        seed = mid - SEED_REACH + int(dev[a, mid - SEED_REACH:mid + SEED_REACH + 1].argmax())
        on = dev[a] >= max(0.5 * dev[a, seed], 0.02)
        lo = hi = seed
        while lo > mid // 2 and on[lo - 1]:
            lo -= 1
        while hi < mid + mid // 2 and on[hi + 1]:
            hi += 1
        runs[a] = lo, hi
    runs = _rim_width_capped(runs, dev)
    # a rim's width changes slowly round the eye: a ray whose run strays into a brow or a lid
    # follows its neighbours (circular median over SMOOTH_RAYS rays)
    wrap = np.concatenate([runs[-(SMOOTH_RAYS // 2):], runs, runs[:SMOOTH_RAYS // 2]])
    runs = np.stack([np.median(wrap[a:a + SMOOTH_RAYS], 0) for a in range(len(pts))]).round().astype(int)
    a = np.arange(len(pts))
    return np.stack([pts[a, runs[:, 0]], pts[a, runs[:, 1]]], 1)


def _rim_width_capped(runs: np.ndarray, dev: np.ndarray) -> np.ndarray:
    """runs (ANGLES, 2) first and last sample of each ray's run, dev (ANGLES, n) -> the runs cut to
    the rim's width below the eye (where only skin borders it; a brow or a lid next to the rim
    above it would merge with it): on a longer run, the window of that width with the most
    difference from the ray's median."""
    th = np.linspace(0, 2 * np.pi, len(runs), endpoint=False)
    below = (th > np.radians(20)) & (th < np.radians(160))
    width = int(np.median(runs[below, 1] - runs[below, 0])) + 1
    out = runs.copy()
    for a, (lo, hi) in enumerate(runs):
        if hi - lo + 1 > width:
            sums = np.convolve(dev[a, lo:hi + 1], np.ones(width), "valid")
            out[a, 0] = lo + int(sums.argmax())
            out[a, 1] = out[a, 0] + width - 1
    return out


def _dark_lens(grey: np.ndarray, band: np.ndarray) -> bool:
    """Whether the lens inside a rim is dark (a sunglass lens): its median luminance under
    DARK_LENS of the skin's just outside the rim. band (ANGLES, 2, 2) the rim's inner and outer
    edge per ray (_frame_band)."""
    inner = np.zeros(grey.shape, np.uint8)
    cv2.fillPoly(inner, [np.round(band[:, 0] * 4).astype(np.int32)], 1, cv2.LINE_8, shift=2)
    outer = np.zeros(grey.shape, np.uint8)
    cv2.fillPoly(outer, [np.round(band[:, 1] * 4).astype(np.int32)], 1, cv2.LINE_8, shift=2)
    reach = max(2, round(grey.shape[0] * RIM_GROW * 2))
    around = (cv2.dilate(outer, np.ones((2 * reach + 1,) * 2, np.uint8)) > 0) & (outer == 0)
    if not inner.any() or not around.any():
        return False
    return bool(np.median(grey[inner > 0]) < DARK_LENS * np.median(grey[around]))


def frame_mask(image: np.ndarray, eye_centres: np.ndarray, iod: float) -> np.ndarray | None:
    """image (H, W, 3) uint8 sRGB crop; eye_centres (2, 2) crop pixels -> (H, W) float32 in
    [0, 1], 1 on the frames' rims (each eye's ring, its width measured per ray, grown by RIM_GROW)
    and softened beyond them, or None when the face wears no glasses or wears sunglasses."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    response = line_response(grey)
    rings = [eye_ring(response, np.asarray(c, np.float64), iod) for c in eye_centres]
    if min(r.below_share for r in rings) < FRAME_SHARE:
        return None
    bands = [_frame_band(grey, ring, np.asarray(c, np.float64), iod) for ring, c in zip(rings, eye_centres)]
    if any(_dark_lens(grey, band) for band in bands):
        return None
    mask = np.zeros(grey.shape, np.uint8)
    for band in bands:
        for a in range(ANGLES):    # one quad per pair of rays: the rim between them
            b = (a + 1) % ANGLES
            quad = np.stack([band[a, 0], band[a, 1], band[b, 1], band[b, 0]])
            cv2.fillConvexPoly(mask, np.round(quad * 4).astype(np.int32), 1, cv2.LINE_8, shift=2)
    grow = max(1, round(grey.shape[0] * RIM_GROW))
    core = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))).astype(np.float32)
    return np.maximum(core, cv2.GaussianBlur(core, (0, 0), grow / 2 + 0.5)).clip(0, 1)


def glasses_frames(image: np.ndarray, points: np.ndarray, point_set: PointSet) -> np.ndarray | None:
    """image (H, W, 3) uint8 sRGB crop; points (N, 2) the detector's points in its pixels,
    numbered as point_set -> frame_mask around the detected eyes (each eye's centre: the mean of
    its eyelid points, split at the middle of the outer corners), or None without glasses."""
    eyes, _, iod = eyes_apart(points, point_set)
    return frame_mask(image, np.stack([lids.mean(0) for lids in eyes]), iod)
