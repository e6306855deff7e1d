"""Video -> per-frame expression, jaw, head pose and gaze of a known person (FML's idea: one
identity across frames, each frame its own expression).

Per frame the dense landmarker follows the face from the previous frame's points. The frames are
then fitted in chunks as one multi-photo landmark fit whose identity is the avatar's, fixed:
camera, head rotation, the 52 ARKit weights and the jaw per frame, with a temporal term that keeps
each frame's parameters near its neighbours' (a still face stays still), then each eye's rotation
from the irises. Frames with no face are bridged by interpolating their neighbours and reported.

The expression weights come from MediaPipe's blendshape model on each frame's points
(detect.blendshapes; learned from real faces) when the points are MediaPipe's: the fit to the
points alone cannot tell most keys apart (a brow raise moves a dozen of ~470 points) and did worse
than guessing zero (benchmarks/NOTES.md). The fit's own weights remain for other point sets
(`expressions="fit"`); either way the fit gives the head pose, jaw and gaze.

Frames: the avatar's model frame (x = the subject's left, y up, z out of the face). Angles in
radians; the head's yaw/pitch/roll follow the Live Link table of the Blender extension
(headsmith_blender/scene/animation.py): yaw > 0 turns toward the subject's left, pitch > 0 up,
roll > 0 leans toward the left shoulder.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from ..detect.crop import CROP_SCALE, Crop, face_span
from ..detect.point_sets import POINT_SETS
from ..fit.coarse import FitSettings, Observation, start_state
from ..fit.stages import clamp_expression, gaze_stage, rigid_stage
from ..fit.terms import FitState, StepCounter
from ..headmodel import HeadModel
from ..headmodel.lbs import axis_angle_to_matrix
from ..optim import Adam

CHUNK = 32               # frames fitted together (one batch)
PROGRESS_EVERY = 8       # frames between two progress reports while finding landmarks
CROP = 256               # the virtual crop the landmarks are expressed in, pixels
SCHEDULES = {            # steps per chunk: rigid, landmark, gaze
    "fast": dict(rigid=20, landmark=80, gaze=15),
    "default": dict(rigid=30, landmark=160, gaze=30),
}
# the share of a take's frames taken as its neutral (neutral_frames), for takes of at least
# NEUTRAL_MIN_FRAMES frames
NEUTRAL_FRACTION, NEUTRAL_MIN_FRAMES = 0.1, 30
EXPRESSION_SOURCES = ("auto", "blendshapes", "fit")   # where the expression weights come from (track_frames)
# per squared unit of frame-to-frame change, against the landmark term (benchmarks/NOTES.md)
W_TEMPORAL = {"expression": 0.05, "jaw": 0.5, "global_rot": 0.3}


Progress = Callable[[str, float], None]   # (stage, fraction 0..1); may raise to cancel


class TrackError(ValueError):
    """The video cannot be tracked; the message says why and what to do."""


@dataclass
class Track:
    """Per frame (T): ARKit weights (T, 52), jaw axis-angle (T, 3), head rotation as yaw, pitch,
    roll (T, 3), each eye's yaw, pitch, roll (T, 3) (the subject's left and right eye), and
    whether a face was found (T,) (the rest are interpolated)."""

    expression: np.ndarray
    jaw: np.ndarray
    head: np.ndarray
    left_eye: np.ndarray
    right_eye: np.ndarray
    found: np.ndarray
    expression_names: list[str]
    fps: float
    seconds: dict = field(default_factory=dict)


def frame_observations(frames, detector, progress: Progress | None = None,
                       count: int = 0) -> tuple[list[Observation | None], list[np.ndarray | None]]:
    """Each frame's dense landmarks in a CROP-pixel frame around the face (no image is warped: the
    fit needs only the points), or None where no face was found; and each frame's detected points
    (N, 2) in image pixels (or None). progress("landmarks", fraction of `count` frames) every
    PROGRESS_EVERY frames when both are given."""
    from ..pipeline.stages import iris_centres_in_crop

    ps = POINT_SETS[detector.point_set]
    blank = np.broadcast_to(np.zeros((1, 1, 3), np.uint8), (CROP, CROP, 3))
    obs, points, prev = [], [], None
    for k, rgb in enumerate(frames):
        if progress is not None and count and k % PROGRESS_EVERY == 0:
            progress("landmarks", min(k / count, 1.0))
        face = detector.follow(rgb, prev)
        prev = face
        points.append(None if face is None else face.points)
        if face is None:
            obs.append(None)
            continue
        framing = face.points[list(ps.box)]
        centre = (framing.min(0) + framing.max(0)) / 2
        span = face_span(face.points, ps.box)
        s = CROP / (1.1 * span * CROP_SCALE)                  # as crop_face frames a photo
        M = np.array([[s, 0.0, CROP / 2 - s * centre[0]], [0.0, s, CROP / 2 - s * centre[1]]])
        crop = Crop(blank, face.points @ M[:, :2].T + M[:, 2], M, CROP)
        obs.append(Observation(blank, crop.landmarks, iris_centres_in_crop(crop, ps), ps.name))
    return obs, points


def _temporal(st: FitState) -> torch.Tensor:
    """The squared frame-to-frame change of each parameter in W_TEMPORAL, weighted, per frame."""
    t = torch.zeros((), device=st.camera.device)
    for name, w in W_TEMPORAL.items():
        x = getattr(st, name)
        if x.shape[0] > 1:
            t = t + w * ((x[1:] - x[:-1]) ** 2).sum() / x.shape[0]
    return t


def _fit_chunk(model: HeadModel, obs: list[Observation], shape: torch.Tensor, sched: dict,
               settings: FitSettings, start: dict | None) -> dict:
    """One chunk: -> per-frame parameters (CPU tensors) and the last frame's, to start the next."""
    # each frame's camera and turn from a photo fit's start (a fast turn outruns any warm start):
    # the learned network's guess, or the yaw search; expression and jaw start from the previous
    # chunk's last frame
    st = start_state(model, obs, settings, torch.device("cpu"))
    with torch.no_grad():
        st.shape.copy_(shape)
        if start is not None:
            for name in ("expression", "jaw"):
                getattr(st, name).copy_(start[name].expand_as(getattr(st, name)))
    st.shape.requires_grad_(False)
    st.steps = StepCounter(None, sum(sched.values()))
    rigid_stage(st, sched["rigid"])
    opt = Adam([{"params": [st.camera, st.global_rot], "lr": 0.005}, {"params": [st.expression], "lr": 0.03},
                {"params": [st.jaw], "lr": 0.01}])
    s = st.settings
    for _ in range(sched["landmark"]):
        opt.zero_grad()
        lmk, eye, lip, _ = st.landmark_terms(st.landmarks_ndc())
        loss = s.w_landmark * lmk + s.w_eye * eye + s.w_lip * lip + st.priors() + _temporal(st)
        loss.backward()
        opt.step()
        clamp_expression(st)
        st.steps.step("landmark")
    if sched["gaze"] and st.iris_seen.any():
        gaze_stage(st, sched["gaze"])
    out = {n: getattr(st, n).detach().clone() for n in ("expression", "jaw", "global_rot", "camera", "gaze")}
    out["expression"] = out["expression"] * st.fitted_expr
    out["last"] = {n: out[n][-1:] for n in ("expression", "jaw")}
    return out


def _bridge(values: np.ndarray, found: np.ndarray) -> np.ndarray:
    """Rows of frames without a face, linearly interpolated between the nearest found ones."""
    t = np.arange(len(found))
    out = values.copy()
    for c in range(values.shape[1]):
        out[~found, c] = np.interp(t[~found], t[found], values[found, c])
    return out


def blendshape_expressions(points: list[np.ndarray | None], names: list[str], device: str = "cpu") -> np.ndarray:
    """(T, E) ARKit weights in the order of `names` from MediaPipe's blendshape model, the keys the
    fit moves only (terms.fitted_expressions: the jaw is the jaw bone's, gaze the eyes'); frames
    without points are bridged from their neighbours."""
    from ..detect.blendshapes import MediaPipeBlendshapes
    from ..fit.terms import fitted_expressions

    reader = MediaPipeBlendshapes(device)
    keep = np.zeros(len(names), bool)
    keep[fitted_expressions(names)] = True
    found = np.array([p is not None for p in points])
    rows = np.zeros((len(points), len(names)))
    for t in np.nonzero(found)[0]:
        rows[t] = reader.in_order(points[t], names) * keep
    return _bridge(rows, found)


def neutral_frames(fitted: np.ndarray) -> np.ndarray:
    """Indices of the take's most neutral frames: the NEUTRAL_FRACTION (at least one) whose fitted
    weights (T, E) sum lowest. The fit knows the avatar's identity, so a mouth that is narrow by
    nature reads as that person's shape, not as a pucker; the blendshape model, which sees only
    points, cannot tell the two apart."""
    count = max(1, int(NEUTRAL_FRACTION * len(fitted)))
    return np.argsort(np.abs(fitted).sum(1), kind="stable")[:count]


def neutral_calibrated(expression: np.ndarray, neutral: np.ndarray) -> np.ndarray:
    """(T, E) ARKit weights relative to the mean of the `neutral` frames' (clipped at 0): both the
    fit and the blendshape model read a steady bias on a neutral face (e.g. a pucker on a narrow
    mouth; benchmarks/NOTES.md), which would put wrinkles on every frame. Takes
    shorter than NEUTRAL_MIN_FRAMES pass as they are (too short to hold a neutral moment)."""
    if len(expression) < NEUTRAL_MIN_FRAMES:
        return expression
    return np.clip(expression - expression[neutral].mean(0), 0, 1)


def euler_yaw_pitch_roll(axis_angle: np.ndarray) -> np.ndarray:
    """(T, 3) model-frame axis-angle -> (T, 3) yaw, pitch, roll (radians) of the Live Link table:
    R = Rz(ez) Ry(ey) Rx(ex) (Blender's XYZ Euler on the head bone, whose axes are the model's),
    yaw = ey, pitch = -ex, roll = -ez."""
    R = axis_angle_to_matrix(torch.as_tensor(axis_angle, dtype=torch.float64)).numpy()
    ey = np.arcsin(np.clip(-R[:, 2, 0], -1, 1))
    ex = np.arctan2(R[:, 2, 1], R[:, 2, 2])
    ez = np.arctan2(R[:, 1, 0], R[:, 0, 0])
    return np.stack([ey, -ex, -ez], 1)


def track_frames(model: HeadModel, frames, shape: np.ndarray, detector, fps: float,
                 quality: str = "fast", progress: Progress | None = None, count: int = 0,
                 init: str = "search", calibrate: bool = True, expressions: str = "auto") -> Track:
    """frames: an iterable of (H, W, 3) uint8 RGB (about `count` of them: for progress); shape
    (n_shape,) the avatar's identity. progress(stage, fraction) for "landmarks" then "fit".
    calibrate: the expression weights relative to the take's neutral (neutral_calibrated).
    expressions: "blendshapes" (MediaPipe's points only), "fit", or "auto" (the first when it can)."""
    import time

    if quality not in SCHEDULES:
        raise TrackError(f"quality must be one of {list(SCHEDULES)}, got {quality!r}")
    readable = detector.point_set == "mediapipe478"
    if expressions not in EXPRESSION_SOURCES or (expressions == "blendshapes" and not readable):
        raise TrackError(f"expressions must be one of {EXPRESSION_SOURCES} ('blendshapes' needs MediaPipe's "
                         f"points), got {expressions!r} with the {detector.point_set} points")
    t0 = time.perf_counter()
    obs, points = frame_observations(frames, detector, progress, count)
    t1 = time.perf_counter()
    found = np.array([o is not None for o in obs])
    if not found.any():
        raise TrackError("no face found in any frame: use a video where the face is visible, lit and "
                         "turned less than ~45 degrees from the camera")
    seen = [o for o in obs if o is not None]
    shape_t = torch.as_tensor(np.asarray(shape, np.float32))[None]
    parts, start = [], None
    settings = FitSettings(quality="fast", init=init)
    for i in range(0, len(seen), CHUNK):
        if progress is not None:
            progress("fit", i / len(seen))
        res = _fit_chunk(model, seen[i:i + CHUNK], shape_t, SCHEDULES[quality], settings, start)
        start = res["last"]
        parts.append(res)
    cat = {n: torch.cat([p[n] for p in parts]).numpy() for n in ("expression", "jaw", "global_rot", "gaze")}
    full = {}
    for n, v in cat.items():
        flat = v.reshape(len(v), -1)
        rows = np.zeros((len(obs), flat.shape[1]))
        rows[found] = flat
        full[n] = _bridge(rows, found).reshape((len(obs),) + v.shape[1:])
    gaze = full["gaze"]                       # (T, eye, [pitch, yaw]), eyes in image order (eye.R, eye.L)
    eye = lambda e: np.stack([gaze[:, e, 1], -gaze[:, e, 0], np.zeros(len(gaze))], 1)  # noqa: E731
    expression = full["expression"]
    if expressions == "blendshapes" or (expressions == "auto" and readable):
        expression = blendshape_expressions(points, list(model.expression_names))
    if calibrate:
        expression = neutral_calibrated(expression, neutral_frames(full["expression"]))
    return Track(expression, full["jaw"], euler_yaw_pitch_roll(full["global_rot"]), eye(1), eye(0), found,
                 list(model.expression_names), fps,
                 {"landmarks": t1 - t0, "fit": time.perf_counter() - t1})
