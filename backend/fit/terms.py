"""The coarse fit's unknowns and the terms of its objective: the parameters being fitted (shared
identity, per-photo expression, jaw, head rotation, gaze, DECA camera), the model evaluated at
them, the landmark reprojection (any detector's point set the head model embeds: iBUG-68 or
MediaPipe's dense 478) with eye and lip closure, and the priors.

Frames: landmarks in NDC of each observation's square crop (render.camera.pixels_to_ndc);
distances in inter-ocular units of the detected points.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from ..headmodel import HeadModel, HeadPose
from ..render import OrthographicCamera
from ..render.camera import pixels_to_ndc

# Expressions not fitted: gaze (fitted as the eye joints instead, from the irises), the jaw
# (fitted as the jaw bone, like FLAME), and the tongue.
NOT_FITTED = ("eyeLook", "jawOpen", "jawLeft", "jawRight", "jawForward", "tongueOut")


def fitted_expressions(names: list[str]) -> list[int]:
    """The indices of the expressions the fit moves (all but NOT_FITTED)."""
    return [i for i, n in enumerate(names) if not n.startswith(NOT_FITTED)]


def embedded_pairs(pairs, index: torch.Tensor) -> torch.Tensor:
    """Detector-numbered point pairs -> (P, 2) positions in the embedding's output (pairs it
    lacks dropped), on index's device."""
    pos = {int(k): i for i, k in enumerate(index.tolist())}
    kept = [(pos[a], pos[b]) for a, b in pairs if a in pos and b in pos]
    return torch.tensor(kept, dtype=torch.long, device=index.device).reshape(-1, 2)


@dataclass
class StepCounter:
    """Reports progress(stage, fraction of all steps) every 10 steps and at the last."""

    progress: Callable[[str, float], None] | None
    total: int
    done: int = 0

    def step(self, stage: str) -> None:
        self.done += 1
        if self.progress is not None and (self.done % 10 == 0 or self.done == self.total):
            self.progress(stage, self.done / self.total)


@dataclass
class FitState:
    """The parameters (leaf tensors on the fit's device) and what the objective compares them to.
    B = number of photos."""

    model: HeadModel
    settings: object                  # coarse.FitSettings
    embedding: object                 # headmodel.LandmarkEmbedding of the detector's point set
    det_ndc: torch.Tensor             # (B, N, 2) detected landmarks, in the embedding's point order
    iod: torch.Tensor                 # (B,) their inter-ocular distance
    sizes: torch.Tensor               # (B,) crop sizes in pixels
    w_lmk: torch.Tensor               # (B, N) trust per point (PointSet.weights; 0 outside the photo)
    eyelid_pairs: torch.Tensor        # (P, 2) (upper, lower) positions in the N points
    lip_pairs: torch.Tensor           # (P, 2)
    w_landmark_photo: float           # the landmarks' weight in the photometric stage
    fitted_expr: torch.Tensor         # (E,) bool: expressions the fit moves
    camera: torch.Tensor              # (B, 3)
    global_rot: torch.Tensor          # (B, 3) axis-angle
    shape: torch.Tensor               # (1, n_shape)
    expression: torch.Tensor          # (B, E)
    jaw: torch.Tensor                 # (B, 3)
    gaze: torch.Tensor                # (B, eye, [pitch, yaw]), eyes in image order (eye.R, eye.L)
    iris_det: torch.Tensor            # (B, 2, 2) detected iris centres, NDC (0 where unseen)
    iris_seen: torch.Tensor           # (B, 2) bool
    iris_faces: torch.Tensor          # (2,) the model's iris points (HeadModel.iris_embedding),
    iris_bary: torch.Tensor           # (2, 3) barycentric on those faces
    light: torch.Tensor | None = None             # (B, 9, 3) SH, set by the photometric stage
    albedo: torch.Tensor | None = None            # (1, 3) mean skin reflectance
    albedo_code: torch.Tensor | None = None       # (1, n) albedo-model coefficients
    history: dict = field(default_factory=lambda: {k: [] for k in ("rigid", "landmark", "photo", "polish", "gaze")})
    steps: StepCounter | None = None

    @staticmethod
    def start(model: HeadModel, observations: list, settings, dev, initial_cameras) -> "FitState":
        """The detected points in NDC and the starting parameters: cameras and yaws from
        `initial_cameras(model, det_ndc, embedding)`, everything else at zero."""
        from ..detect.point_sets import POINT_SETS

        B = len(observations)
        ps = POINT_SETS[observations[0].point_set]
        emb = model.landmark_set(ps.name)
        index = emb.detector_index().to(dev)
        fitted_expr = torch.zeros(model.n_expression, dtype=torch.bool, device=dev)
        fitted_expr[fitted_expressions(model.expression_names)] = True
        det_px = torch.tensor(np.stack([o.landmarks for o in observations]), dtype=torch.float32, device=dev)
        sizes = torch.tensor([o.size for o in observations], dtype=torch.float32, device=dev)
        det_all = torch.stack([pixels_to_ndc(det_px[i], o.size, o.size) for i, o in enumerate(observations)])
        a, b = ps.outer_eye_corners
        iod = (det_all[:, a] - det_all[:, b]).norm(dim=-1)
        det_ndc = det_all[:, index]
        in_photo = np.stack([np.ones(len(o.landmarks), bool) if o.seen is None else o.seen for o in observations])
        w_lmk = torch.as_tensor(ps.weights() * in_photo, dtype=torch.float32, device=dev)[:, index]   # (B, N)
        cams, yaws = initial_cameras(model, det_ndc, emb)
        camera = cams.float().to(dev).requires_grad_(True)
        global_rot = torch.zeros(B, 3, device=dev)
        global_rot[:, 1] = torch.tensor([math.radians(y) for y in yaws], device=dev)
        global_rot.requires_grad_(True)
        iris_det = torch.full((B, 2, 2), float("nan"), device=dev)
        for i, o in enumerate(observations):
            if o.irises is not None:
                iris_det[i] = pixels_to_ndc(torch.as_tensor(o.irises, dtype=torch.float32, device=dev), o.size, o.size)
        seen = torch.isfinite(iris_det).all(-1)
        iris_faces, iris_bary = model.iris_embedding()
        return FitState(model, settings, emb, det_ndc, iod, sizes, w_lmk, embedded_pairs(ps.eyelid_pairs, index),
                        embedded_pairs(ps.lip_pairs, index),
                        ps.photometric_landmark_weight if settings.w_landmark_photo is None
                        else settings.w_landmark_photo, fitted_expr, camera, global_rot,
                        shape=torch.zeros(1, model.n_shape, device=dev, requires_grad=True),
                        expression=torch.zeros(B, model.n_expression, device=dev, requires_grad=True),
                        jaw=torch.zeros(B, 3, device=dev, requires_grad=True),
                        gaze=torch.zeros(B, 2, 2, device=dev, requires_grad=True),
                        iris_det=torch.nan_to_num(iris_det), iris_seen=seen,
                        iris_faces=iris_faces, iris_bary=iris_bary)

    @property
    def n_photos(self) -> int:
        return self.camera.shape[0]

    def pose(self) -> HeadPose:
        eyes = torch.nn.functional.pad(self.gaze, (0, 1))
        return HeadPose(self.global_rot, torch.zeros(self.n_photos, 3, device=self.camera.device), self.jaw,
                        eyes[:, 1], eyes[:, 0])

    def forward(self):
        """-> (model output, pose, landmarks in NDC) at the current parameters."""
        pose = self.pose()
        out = self.model(shape=self.shape.expand(self.n_photos, -1), expression=self.expression * self.fitted_expr,
                         pose=pose, embedding=self.embedding)
        return out, pose, OrthographicCamera(self.camera).project_ndc(out.landmarks3d)

    def landmarks_ndc(self) -> torch.Tensor:
        """The landmarks alone, in NDC: all that the rigid and landmark stages need, at a
        fraction of a full model evaluation (HeadModel.forward_landmarks)."""
        lmk = self.model.forward_landmarks(self.shape.expand(self.n_photos, -1), self.expression * self.fitted_expr,
                                           self.pose(), embedding=self.embedding)
        return OrthographicCamera(self.camera).project_ndc(lmk)

    def iris_points(self, out) -> torch.Tensor:
        """(B, 2, 3) the iris centres on the posed eyeballs (image order)."""
        tri = out.vertices[:, self.model.faces[self.iris_faces]]       # (B, 2, 3, 3)
        return (tri * self.iris_bary[None, :, :, None]).sum(2)

    def landmark_terms(self, ndc: torch.Tensor):
        """-> (landmark loss, eyelid closure, lip closure, per-point distances (B, N))."""
        d = (ndc - self.det_ndc).norm(dim=-1) / self.iod[:, None]     # (B, N), in inter-ocular units
        # Charbonnier (smooth L1) in inter-ocular units: robust to a few bad detections
        lmk = (self.w_lmk * torch.sqrt(d * d + 1e-4)).mean()

        def pair_loss(pairs):
            if pairs.numel() == 0:
                return ndc.new_zeros(())
            a, b = pairs.unbind(1)
            return (((ndc[:, a] - ndc[:, b]) - (self.det_ndc[:, a] - self.det_ndc[:, b])).norm(dim=-1)
                    / self.iod[:, None]).mean()

        return lmk, pair_loss(self.eyelid_pairs), pair_loss(self.lip_pairs), d

    def priors(self) -> torch.Tensor:
        s, B = self.settings, self.n_photos
        return (s.w_shape * (self.shape ** 2).sum() + s.w_expression * self.expression.abs().sum() / B
                + s.w_jaw * (self.jaw ** 2).sum() / B)

    def to_px(self, ndc: torch.Tensor) -> torch.Tensor:
        """NDC -> crop pixels (x right, y down), per photo's crop size."""
        sz = self.sizes[:, None]
        return torch.stack([(ndc[..., 0] + 1) * 0.5 * sz, (1 - ndc[..., 1]) * 0.5 * sz], -1)
