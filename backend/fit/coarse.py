"""Coarse fit: identity shape, ARKit expression, head and jaw pose, DECA camera and SH light from
one or more photos of one person (shared shape and albedo, per-photo everything else).

Analysis by synthesis after DECA's coarse stage: landmark reprojection (iBUG-68 or MediaPipe's
dense points) with the dynamic contour, eye and lip closure, a robust photometric term on the face skin (rendered by the
project's renderer), and Gaussian / sparsity priors. Schedule: rigid (camera + head rotation,
initialised by a yaw search), then landmarks with shape/expression/jaw, then photometric with
the landmarks at a low weight (the image leads the identity), then a landmark polish of
expression, jaw, pose and camera with the identity fixed, then the gaze: each eye's rotation
(pitch, yaw) from the iris centres found in the photo, where they were seen.

Frames: crop pixels (x right, y down) of each observation's square crop; the camera maps the
FLAME-frame model to NDC of that crop (OrthographicCamera).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from ..headmodel import HeadModel, HeadPose
from ..headmodel.albedo import AlbedoModel
from ..optim import Adam
from ..render import OrthographicCamera
from .learned_init import start_from_network
from .similarity import similarity_camera
from .stages import gaze_stage, landmark_stage, photometric_stage, rigid_stage
from .terms import FitState, StepCounter

INITS = ("search", "learned")
# the stages a learned start shortens (measured with --init in bench_real_photos.py and
# bench_synthetic_faces.py: benchmarks/NOTES.md, "Learned initialiser")
LEARNED_STEPS = {
    "fast": dict(rigid=0, landmark=90),
    "default": dict(rigid=0, landmark=80),
    "high": dict(rigid=0),
}
QUALITY = {
    "fast": dict(rigid=40, landmark=90, photo=0, polish=0, gaze=30, size=160),
    "default": dict(rigid=60, landmark=160, photo=140, polish=100, gaze=60, size=224),
    "high": dict(rigid=80, landmark=300, photo=500, polish=200, gaze=100, size=320),
}


@dataclass
class Observation:
    """One photo, cropped: (S, S, 3) uint8 sRGB, its detected landmarks (N, 2) in crop pixels,
    numbered as the detector's point set (detect.point_sets) and, when looked for, the iris
    centres (2, 2) in crop pixels, image-left eye first, NaN rows for an eye whose iris was not
    seen (detect.iris.iris_array). Points outside the photo (guessed by the detector beyond a
    tight crop's edge) are `seen` False and do not pull the fit."""

    image: np.ndarray
    landmarks: np.ndarray
    irises: np.ndarray | None = None
    point_set: str = "ibug68"
    seen: np.ndarray | None = None      # (N,) bool: the point lies in the photo (None: all do)

    @property
    def size(self) -> int:
        return int(self.image.shape[0])


@dataclass
class FitSettings:
    quality: str = "default"
    device: str = "cpu"
    w_landmark: float = 2.0
    # The landmarks' weight in the photometric stage; None: the point set's own
    # (PointSet.photometric_landmark_weight: how far its points can be trusted there).
    w_landmark_photo: float | None = None
    w_eye: float = 1.0
    w_lip: float = 0.5
    w_photo: float = 30.0
    photo_clamp: float = 0.15     # residuals above this (hair, glasses, specularities) stop pulling
    w_shape: float = 5e-4
    w_expression: float = 2e-3
    w_jaw: float = 1e-2
    w_albedo_code: float = 1e-3   # Gaussian prior on an albedo model's coefficients
    # the SH light stays one a real scene casts: no normal lit below a tenth of the ambient, the
    # directional part in the ambient's colour (render.shading.light_implausibility)
    w_light_dark: float = 1000.0
    w_light_chroma: float = 3.0
    # gaze, as a Gaussian posterior: iris centres detected to ~0.5% of the inter-ocular distance
    # (~1 px at 200 px), eye rotations within ~0.5 rad, the two eyes turned alike: the same
    # pitch within 0.02 rad (eyes hardly diverge vertically), the same yaw within 0.06 rad (the
    # vergence on a subject 1 m away). The fitted identity places the eyeballs only as well as
    # the eyelid landmarks imply; where its eye spacing differs from the person's, this prior
    # splits the difference between the eyes instead of squinting one of them.
    iris_sigma: float = 0.005
    gaze_sigma: float = 0.5
    vergence_sigma: tuple[float, float] = (0.02, 0.06)
    seed: int = 0
    # the starting point: "search" (the mean head at 13 yaws, the best one's camera) or "learned"
    # (the network of learned_init.py guesses expression, jaw and head rotation)
    init: str = "search"

    def schedule(self) -> dict:
        if self.quality not in QUALITY:
            raise ValueError(f"quality must be one of {list(QUALITY)}, got {self.quality!r}")
        if self.init == "learned":
            return dict(QUALITY[self.quality], **LEARNED_STEPS.get(self.quality, {}))
        return QUALITY[self.quality]


@dataclass
class CoarseFit:
    """Fitted parameters (torch, detached, CPU). B = number of photos."""

    shape: torch.Tensor          # (1, n_shape) unit-variance identity coefficients
    expression: torch.Tensor     # (B, n_expression) ARKit weights in [0, 1]
    pose: HeadPose               # (B, 3) each
    camera: torch.Tensor         # (B, 3) DECA (s, tx, ty) for each crop
    light: torch.Tensor          # (B, 9, 3) SH, linear light
    albedo: torch.Tensor         # (1, 3) mean skin reflectance, linear
    landmarks2d: torch.Tensor    # (B, N, 2) fitted landmarks, crop pixels, numbered by landmark_index
    landmark_index: torch.Tensor  # (N,) the detector's number of each fitted landmark
    landmark_error: torch.Tensor  # (B,) mean distance to the detected points / inter-ocular
    irises2d: torch.Tensor       # (B, 2, 2) fitted iris centres, crop pixels, image-left eye first
    albedo_code: torch.Tensor | None = None  # (1, n) coefficients of the albedo model, when one was given
    history: dict = field(default_factory=dict)
    seconds: float = 0.0


def _similarity_init(model: HeadModel, lmk_ndc: torch.Tensor, yaw_deg: float, embedding):
    """Best (s, tx, ty) for the mean head turned by yaw, least squares on the inner (non-outline)
    points of the embedding; lmk_ndc (N, 2) in the embedding's order."""
    pose = HeadPose.zeros(1, device=model.v_template.device)
    pose.global_rot[0, 1] = math.radians(yaw_deg)
    inner = embedding.n_outline
    with torch.no_grad():
        L = model(pose=pose, embedding=embedding).landmarks3d[0, inner:, :2].double().cpu()
    sol, err = similarity_camera(L, lmk_ndc[inner:])
    return err, sol.float()


def initial_cameras(model: HeadModel, det_ndc: torch.Tensor, embedding) -> tuple[torch.Tensor, list[float]]:
    """Per photo: a yaw search over the mean head and the closed-form scale/translation at the
    best yaw. -> cameras (B, 3), yaws in degrees."""
    cams, yaws = [], []
    for i in range(det_ndc.shape[0]):
        best = min((_similarity_init(model, det_ndc[i].cpu(), y, embedding) + (y,) for y in range(-60, 61, 10)),
                   key=lambda r: r[0])
        cams.append(best[1]); yaws.append(best[2])
    return torch.stack(cams), yaws


def unit_cameras(model: HeadModel, det_ndc: torch.Tensor, embedding) -> tuple[torch.Tensor, list[float]]:
    """Placeholder cameras (s = 1, no offset) and yaws (0) for a start that sets its own."""
    B = det_ndc.shape[0]
    return torch.tensor([[1.0, 0.0, 0.0]]).repeat(B, 1), [0.0] * B


def start_state(model: HeadModel, observations: list[Observation], settings: FitSettings, dev) -> FitState:
    """The fit's parameters at its start, as settings.init chooses: the learned network's guess or
    the yaw search."""
    if settings.init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {settings.init!r}")
    if settings.init == "search":
        return FitState.start(model, observations, settings, dev, initial_cameras)
    st = FitState.start(model, observations, settings, dev, unit_cameras)
    start_from_network(st)
    return st


def fit_coarse(model: HeadModel, observations: list[Observation], settings: FitSettings | None = None,
               progress=None, albedo_model: AlbedoModel | None = None) -> CoarseFit:
    """progress(stage: str, fraction: float) is called as the fit advances. With an albedo model
    (in the head model's UV layout) the photometric stage renders its texture and fits its
    coefficients, shared by all photos, instead of one mean skin colour."""
    settings = settings or FitSettings()
    sched = settings.schedule()
    dev = torch.device(settings.device)
    torch.manual_seed(settings.seed)
    t0 = time.perf_counter()
    model = model.to(dev)
    if len(observations) == 0:
        raise ValueError("no observations to fit")
    st = start_state(model, observations, settings, dev)
    if not st.iris_seen.any():
        sched = dict(sched, gaze=0)
    st.steps = StepCounter(progress, sum(sched[k] for k in ("rigid", "landmark", "photo", "polish", "gaze")))
    rigid_stage(st, sched["rigid"])
    landmark_stage(st, Adam([{"params": [st.camera, st.global_rot], "lr": 0.005},
                             {"params": [st.shape], "lr": 0.05},
                             {"params": [st.expression], "lr": 0.02},
                             {"params": [st.jaw], "lr": 0.01}]), sched["landmark"], "landmark")
    albedo_model = photometric_stage(st, observations, albedo_model, sched["photo"], sched["size"])
    # identity, light and albedo stay; expression, jaw, head pose and camera are refitted to the
    # detected landmarks (the photometric stage leaned on the image for the shape)
    landmark_stage(st, Adam([{"params": [st.camera, st.global_rot], "lr": 0.004},
                             {"params": [st.expression], "lr": 0.02},
                             {"params": [st.jaw], "lr": 0.01}]), sched["polish"], "polish")
    if sched["gaze"] > 0:
        gaze_stage(st, sched["gaze"])
    return _result(st, time.perf_counter() - t0)


def _result(st: FitState, seconds: float) -> CoarseFit:
    """The fitted parameters, detached on the CPU, with the fitted landmarks and irises in crop
    pixels from one last full evaluation."""
    with torch.no_grad():
        out, pose, ndc = st.forward()
        _, _, _, d = st.landmark_terms(ndc)
        px, iris_px = st.to_px(ndc), st.to_px(OrthographicCamera(st.camera).project_ndc(st.iris_points(out)))
    det = lambda t: t.detach().cpu()  # noqa: E731
    return CoarseFit(
        shape=det(st.shape), expression=det(st.expression * st.fitted_expr),
        pose=HeadPose(*(det(t) for t in (pose.global_rot, pose.neck, pose.jaw, pose.eye_left, pose.eye_right))),
        camera=det(st.camera), light=det(st.light), albedo=det(st.albedo), landmarks2d=det(px),
        landmark_index=det(st.embedding.detector_index()),
        landmark_error=det(d.mean(1)), irises2d=det(iris_px),
        albedo_code=None if st.albedo_code is None else det(st.albedo_code), history=st.history, seconds=seconds)
