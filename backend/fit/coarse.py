"""Coarse fit: identity shape, ARKit expression, head and jaw pose, DECA camera and SH light from
one or more photos of one person (shared shape and albedo, per-photo everything else).

Analysis by synthesis after DECA's coarse stage: 68-landmark reprojection with the dynamic
contour, eye and lip closure, a robust photometric term on the face skin (rendered by the
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
from ..headmodel.lbs import axis_angle_to_matrix
from ..imageio.color import srgb_to_linear
from ..optim import Adam
from ..render import Fragments, MeshRenderer, OrthographicCamera, default_light
from ..render.camera import pixels_to_ndc

# Expressions not fitted: gaze (fitted as the eye joints instead, from the irises), the jaw
# (fitted as the jaw bone, like FLAME), and the tongue.
NOT_FITTED = ("eyeLook", "jawOpen", "jawLeft", "jawRight", "jawForward", "tongueOut")
EYELID_PAIRS = [(37, 41), (38, 40), (43, 47), (44, 46)]
LIP_PAIRS = [(61, 67), (62, 66), (63, 65)]
VISIBILITY_STEPS = 4   # photometric steps between z-buffer passes (see rasterize's visibility)

QUALITY = {
    "fast": dict(rigid=40, landmark=90, photo=0, polish=0, gaze=30, size=160),
    "default": dict(rigid=60, landmark=160, photo=280, polish=150, gaze=60, size=224),
    "high": dict(rigid=80, landmark=300, photo=500, polish=200, gaze=100, size=320),
}


def landmark_weights() -> torch.Tensor:
    w = torch.ones(68)
    w[:17] = 0.5      # the contour is the least reliable
    w[36:48] = 1.5    # eyes
    w[48:68] = 1.5    # mouth
    return w


@dataclass
class Observation:
    """One photo, cropped: (S, S, 3) uint8 sRGB, its 68 landmarks in crop pixels and, when
    looked for, the iris centres (2, 2) in crop pixels, image-left eye first, NaN rows for an
    eye whose iris was not seen (detect.iris.iris_array)."""

    image: np.ndarray
    landmarks: np.ndarray
    irises: np.ndarray | None = None

    @property
    def size(self) -> int:
        return int(self.image.shape[0])


@dataclass
class FitSettings:
    quality: str = "default"
    device: str = "cpu"
    w_landmark: float = 2.0
    # The photometric stage leans on the image: detected landmarks disagree with the model's by
    # several % of the inter-ocular distance on turned or expressive faces (measured on synthetic
    # renders), and a full-weight landmark term keeps that error in the identity shape.
    w_landmark_photo: float = 0.3
    w_eye: float = 1.0
    w_lip: float = 0.5
    w_photo: float = 30.0
    photo_clamp: float = 0.15     # residuals above this (hair, glasses, specularities) stop pulling
    w_shape: float = 5e-4
    w_expression: float = 2e-3
    w_jaw: float = 1e-2
    w_albedo_code: float = 1e-3   # Gaussian prior on an albedo model's coefficients
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

    def schedule(self) -> dict:
        if self.quality not in QUALITY:
            raise ValueError(f"quality must be one of {list(QUALITY)}, got {self.quality!r}")
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
    landmarks2d: torch.Tensor    # (B, 68, 2) fitted landmarks, crop pixels
    landmark_error: torch.Tensor  # (B,) mean distance to the detected points / inter-ocular
    irises2d: torch.Tensor       # (B, 2, 2) fitted iris centres, crop pixels, image-left eye first
    albedo_code: torch.Tensor | None = None  # (1, n) coefficients of the albedo model, when one was given
    history: dict = field(default_factory=dict)
    seconds: float = 0.0


def _similarity_init(model: HeadModel, lmk_ndc: torch.Tensor, yaw_deg: float):
    """Best (s, tx, ty) for the mean head turned by yaw, least squares on inner points."""
    pose = HeadPose.zeros(1, device=model.v_template.device)
    pose.global_rot[0, 1] = math.radians(yaw_deg)
    with torch.no_grad():
        L = model(pose=pose).landmarks3d[0, 17:, :2].double().cpu()
    d = lmk_ndc[17:].double()
    # x' = s * x + c  (c = s * t): linear least squares in (s, cx, cy)
    n = L.shape[0]
    A = torch.zeros(2 * n, 3, dtype=torch.float64)
    A[:n, 0], A[:n, 1] = L[:, 0], 1
    A[n:, 0], A[n:, 2] = L[:, 1], 1
    b = torch.cat([d[:, 0], d[:, 1]])
    sol = torch.linalg.lstsq(A, b[:, None]).solution[:, 0]
    err = float(((A @ sol - b) ** 2).mean())
    s = float(sol[0])
    return err, torch.tensor([s, float(sol[1]) / s, float(sol[2]) / s])


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
    B = len(observations)
    if B == 0:
        raise ValueError("no observations to fit")
    fitted_expr = torch.tensor([not n.startswith(NOT_FITTED) for n in model.expression_names],
                               device=dev)

    det_px = torch.tensor(np.stack([o.landmarks for o in observations]), dtype=torch.float32, device=dev)
    sizes = torch.tensor([o.size for o in observations], dtype=torch.float32, device=dev)
    det_ndc = torch.stack([pixels_to_ndc(det_px[i], o.size, o.size) for i, o in enumerate(observations)])
    iod = (det_ndc[:, 36] - det_ndc[:, 45]).norm(dim=-1)  # (B,)
    w_lmk = landmark_weights().to(dev)

    # --- initialisation: yaw search + closed-form scale/translation per photo
    cams, yaws = [], []
    for i in range(B):
        best = min((_similarity_init(model, det_ndc[i].cpu(), y) + (y,) for y in range(-60, 61, 10)),
                   key=lambda r: r[0])
        cams.append(best[1]); yaws.append(best[2])
    camera = torch.stack(cams).float().to(dev).requires_grad_(True)
    global_rot = torch.zeros(B, 3, device=dev)
    global_rot[:, 1] = torch.tensor([math.radians(y) for y in yaws], device=dev)
    global_rot.requires_grad_(True)
    shape = torch.zeros(1, model.n_shape, device=dev, requires_grad=True)
    expression = torch.zeros(B, model.n_expression, device=dev, requires_grad=True)
    jaw = torch.zeros(B, 3, device=dev, requires_grad=True)
    zeros3 = torch.zeros(B, 3, device=dev)
    # (B, eye, [pitch, yaw]) radians, eyes in image order (eye.R, eye.L); no roll
    gaze = torch.zeros(B, 2, 2, device=dev, requires_grad=True)
    iris_faces, iris_bary = model.iris_embedding()

    def current_pose():
        eyes = torch.nn.functional.pad(gaze, (0, 1))
        return HeadPose(global_rot, zeros3, jaw, eyes[:, 1], eyes[:, 0])

    def forward():
        pose = current_pose()
        out = model(shape=shape.expand(B, -1), expression=expression * fitted_expr, pose=pose)
        return out, pose, OrthographicCamera(camera).project_ndc(out.landmarks3d)

    def landmarks_ndc():
        """The landmarks alone, in NDC: all that the rigid and landmark stages need, at a
        fraction of a full model evaluation (HeadModel.forward_landmarks)."""
        lmk = model.forward_landmarks(shape.expand(B, -1), expression * fitted_expr, current_pose())
        return OrthographicCamera(camera).project_ndc(lmk)

    def iris_points(out):
        tri = out.vertices[:, model.faces[iris_faces]]            # (B, 2, 3, 3)
        return (tri * iris_bary[None, :, :, None]).sum(2)

    def landmark_terms(ndc):
        d = (ndc - det_ndc).norm(dim=-1) / iod[:, None]           # (B, 68), in inter-ocular units
        # Charbonnier (smooth L1) in inter-ocular units: robust to a few bad detections
        lmk = (w_lmk * torch.sqrt(d * d + 1e-4)).mean()

        def pair_loss(pairs):
            a = torch.tensor([p[0] for p in pairs], device=dev)
            b = torch.tensor([p[1] for p in pairs], device=dev)
            return (((ndc[:, a] - ndc[:, b]) - (det_ndc[:, a] - det_ndc[:, b])).norm(dim=-1)
                    / iod[:, None]).mean()

        return lmk, pair_loss(EYELID_PAIRS), pair_loss(LIP_PAIRS), d

    def priors():
        return (settings.w_shape * (shape ** 2).sum() + settings.w_expression * expression.abs().sum() / B
                + settings.w_jaw * (jaw ** 2).sum() / B)

    iris_det = torch.full((B, 2, 2), float("nan"), device=dev)
    for i, o in enumerate(observations):
        if o.irises is not None:
            iris_det[i] = pixels_to_ndc(torch.as_tensor(o.irises, dtype=torch.float32, device=dev), o.size, o.size)
    seen = torch.isfinite(iris_det).all(-1)                        # (B, 2)
    iris_det = torch.nan_to_num(iris_det)
    if not seen.any():
        sched = dict(sched, gaze=0)

    history: dict[str, list[float]] = {"rigid": [], "landmark": [], "photo": [], "polish": [], "gaze": []}
    total = sched["rigid"] + sched["landmark"] + sched["photo"] + sched["polish"] + sched["gaze"]
    done = 0

    def step_progress(stage):
        nonlocal done
        done += 1
        if progress is not None and (done % 10 == 0 or done == total):
            progress(stage, done / total)

    # --- stage 1: rigid
    opt = Adam([camera, global_rot], lr=0.01)
    for _ in range(sched["rigid"]):
        opt.zero_grad()
        lmk, _, _, _ = landmark_terms(landmarks_ndc())
        lmk.backward()
        opt.step()
        history["rigid"].append(float(lmk.detach()))
        step_progress("rigid")

    def landmark_stage(opt, steps: int, stage: str):
        """Landmarks, eye and lip closure and the priors, on the optimizer's parameters."""
        for _ in range(steps):
            opt.zero_grad()
            lmk, eye, lip, _ = landmark_terms(landmarks_ndc())
            loss = settings.w_landmark * lmk + settings.w_eye * eye + settings.w_lip * lip + priors()
            loss.backward()
            opt.step()
            with torch.no_grad():
                expression.clamp_(0, 1)
                jaw[:, 0].clamp_(-0.05, 0.6)
            history[stage].append(float(loss.detach()))
            step_progress(stage)

    # --- stage 2: landmarks with shape, expression, jaw
    landmark_stage(Adam([{"params": [camera, global_rot], "lr": 0.005},
                         {"params": [shape], "lr": 0.05},
                         {"params": [expression], "lr": 0.02},
                         {"params": [jaw], "lr": 0.01}]), sched["landmark"], "landmark")

    # --- stage 3: photometric (plus the landmark terms)
    light = default_light(B, device=dev).requires_grad_(True)
    albedo = torch.tensor([[0.45, 0.32, 0.26]], device=dev)
    albedo_code = None if albedo_model is None else torch.zeros(1, albedo_model.n_components, device=dev)
    R = sched["size"]
    if sched["photo"] > 0:
        target = torch.stack([torch.as_tensor(
            _resize(o.image, R), dtype=torch.float32, device=dev) / 255.0 for o in observations])
        target = srgb_to_linear(target)
        # The z-buffer pass is redone every VISIBILITY_STEPS steps, the faces per pixel being
        # kept in between (the head moves a fraction of a pixel per step): a step costs about a
        # third less on CPU (52 -> 33 ms on this project's 2-core machine: one synthetic head,
        # median of 3 fits with and without 160 steps), which pays for the steps the shape
        # needs to converge. (Drawing only the faces near the face skin would save little more,
        # and at 45 degrees of yaw the ears, neck and scalp hide ~2% of the skin pixels.) Only the
        # skin pixels of each pass are shaded (MeshRenderer.shade_pixels), no dense images:
        # 29.7 -> 22.6 ms per step. Every 8 steps instead of 4 saved ~2 ms more per step but
        # raised seven of the eight synthetic heads' error and lowered none (median of the
        # per-head medians 2.25 -> 2.35 mm, session 8 of issue 3).
        skin_face = (_skin_vertex_mask(model)[model.faces].sum(1) >= 2).to(dev)  # 2+ skin corners
        if albedo_model is None:
            renderer = MeshRenderer(model.faces)
        else:
            albedo_model = albedo_model.to(dev)
            renderer = MeshRenderer(model.faces, model.uv_layout.uv, model.uv_layout.faces)

        target_flat = target.reshape(-1, 3)

        def skin_visibility(out):
            """The z-buffer pass, cut to the pixels whose face is skin, and the photo at them:
            the photometric term compares only those, so only those are shaded."""
            frags = renderer.visibility(out.vertices, OrthographicCamera(camera), (R, R))
            face = frags.face_index.reshape(-1)[frags.pixels]
            keep = torch.nonzero(skin_face[face]).squeeze(1)
            pixels = frags.pixels[keep]
            return Fragments(frags.face_index, None, None, pixels, frags.pixel_batch[keep]), target_flat[pixels]

        def render_albedo(out, visibility):
            """The photometric render at the skin pixels, (N, 3): the albedo model's texture, or
            one mean skin colour (image = shading x colour: nothing to interpolate)."""
            cam = OrthographicCamera(camera)
            if albedo_model is None:
                r = renderer.shade_pixels(out.vertices, cam, (R, R), light=light, visibility=visibility)
                return r, r.shading * albedo[0]
            r = renderer.shade_pixels(out.vertices, cam, (R, R), light=light, visibility=visibility,
                                      texture=albedo_model(albedo_code))
            return r, r.image

        with torch.no_grad():
            out, _, _ = forward()
            skin, skin_target = skin_visibility(out)
            r, image = render_albedo(out, skin)          # its shading does not depend on the albedo
            albedo = (skin_target.median(0).values / r.shading.median(0).values.clamp(min=1e-3))[None]
            if albedo_model is not None:
                # the model's mean colour times the light should match the photo's skin: the
                # light (per channel) takes the ratio, which also covers the camera's white balance
                light.mul_((skin_target.median(0).values / image.median(0).values.clamp(min=1e-3))[None, None])
        albedo = albedo.clone().requires_grad_(True)
        # The shape step: with 160 steps, larger steps left dlib's identity faster and lowered the
        # synthetic median face error (3.04 mm at 0.02, 2.56 at 0.05, 2.23 at 0.1), but the fit
        # then drifted from the detected landmarks (mean 2.69% -> 3.35% -> 4.10%) and the
        # 45-degree profile and open-mouth cases got worse (session-5 note of issue 3). More
        # steps at 0.02 instead: 280 give 2.53 mm with the landmarks at 2.77% (session 6).
        params = [{"params": [camera, global_rot], "lr": 0.002}, {"params": [shape], "lr": 0.02},
                  {"params": [expression], "lr": 0.01}, {"params": [jaw], "lr": 0.005},
                  {"params": [light], "lr": 0.02}]
        if albedo_model is None:
            params.append({"params": [albedo], "lr": 0.01})
        else:
            albedo_code.requires_grad_(True)
            # a large step: at 0.05 the code lagged and the shape took up the texture's shading
            # (test_coarse's head: texture error 0.063 at 0.05, 0.010 at 0.5)
            params.append({"params": [albedo_code], "lr": 0.5})
        opt = Adam(params, total_steps=sched["photo"])
        for step in range(sched["photo"]):
            opt.zero_grad()
            out, _, ndc = forward()
            lmk, eye, lip, _ = landmark_terms(ndc)
            if step % VISIBILITY_STEPS == 0 and step > 0:
                skin, skin_target = skin_visibility(out)
            r, image = render_albedo(out, skin)
            albedo_prior = 0.0 if albedo_model is None else settings.w_albedo_code * (albedo_code ** 2).sum()
            resid = (image - skin_target).abs()
            photo = torch.clamp(resid, max=settings.photo_clamp).sum() / max(resid.shape[0], 1) / 3
            loss = (settings.w_photo * photo + settings.w_landmark_photo * lmk + settings.w_eye * eye
                    + settings.w_lip * lip + priors() + albedo_prior)
            loss.backward()
            opt.step()
            with torch.no_grad():
                expression.clamp_(0, 1)
                jaw[:, 0].clamp_(-0.05, 0.6)
                albedo.clamp_(0.02, 1.0)
            history["photo"].append(float(photo.detach()))
            step_progress("photo")
        if albedo_model is not None:   # the mean skin reflectance the rest of the pipeline reports
            with torch.no_grad():
                albedo = r.albedo.median(0).values[None]

    # --- stage 4: identity, light and albedo stay; expression, jaw, head pose and camera are
    # refitted to the detected landmarks (the photometric stage leaned on the image for the shape)
    landmark_stage(Adam([{"params": [camera, global_rot], "lr": 0.004},
                         {"params": [expression], "lr": 0.02},
                         {"params": [jaw], "lr": 0.01}]), sched["polish"], "polish")

    # --- stage 5: gaze. The eyelid landmarks do not move with the eyeballs, so only the eye
    # rotations are free; an eye whose iris was not seen follows the other through the
    # vergence prior, and stays straight ahead when neither was. An eyeball turns rigidly about
    # its centre (where the eye joint sits), inside the head's frame, so the iris point is
    # p(g) = p0 + R_head (R_eye(g) - I) d, with p0 the posed point looking ahead and d its
    # offset from the eyeball centre in the rest template: no model evaluation per step (the
    # final evaluation below gives the exact points).
    if sched["gaze"] > 0:
        with torch.no_grad():
            out0, pose0, _ = forward()                                     # gaze is zero here
            p0 = iris_points(out0)                                          # (B, 2, 3)
            Rh = model.head_rotation(pose0)                                 # (B, 3, 3)
            tmpl = (model.v_template[model.faces[iris_faces]] * iris_bary[..., None]).sum(1)
            d_rest = tmpl - torch.as_tensor(model.eyeball_centres(), dtype=tmpl.dtype, device=dev)
            cam = OrthographicCamera(camera.detach())
        eye3 = torch.eye(3, device=dev)
        opt = Adam([gaze], lr=0.03, total_steps=sched["gaze"])
        w_seen = seen.float()
        vergence = torch.tensor(settings.vergence_sigma, device=dev)
        for _ in range(sched["gaze"]):
            opt.zero_grad()
            Re = axis_angle_to_matrix(torch.nn.functional.pad(gaze, (0, 1)).reshape(-1, 3)).reshape(B, 2, 3, 3)
            p = p0 + torch.einsum("bij,bejk,ek->bei", Rh, Re - eye3, d_rest)
            d = (cam.project_ndc(p) - iris_det).norm(dim=-1) / iod[:, None]   # (B, 2) inter-ocular units
            loss = ((w_seen * d ** 2).sum() / settings.iris_sigma ** 2
                    + (gaze ** 2).sum() / settings.gaze_sigma ** 2
                    + (((gaze[:, 0] - gaze[:, 1]) / vergence) ** 2).sum()) / B
            loss.backward()
            opt.step()
            with torch.no_grad():
                gaze[..., 0].clamp_(-0.5, 0.5)
                gaze[..., 1].clamp_(-0.7, 0.7)
            history["gaze"].append(float(loss.detach()))
            step_progress("gaze")

    def to_px(ndc):
        """NDC -> crop pixels (x right, y down), per photo's crop size."""
        return torch.stack([(ndc[..., 0] + 1) * 0.5 * sizes[:, None], (1 - ndc[..., 1]) * 0.5 * sizes[:, None]], -1)

    with torch.no_grad():
        out, pose, ndc = forward()
        _, _, _, d = landmark_terms(ndc)
        px, iris_px = to_px(ndc), to_px(OrthographicCamera(camera).project_ndc(iris_points(out)))
    det = lambda t: t.detach().cpu()  # noqa: E731
    return CoarseFit(
        shape=det(shape), expression=det(expression * fitted_expr),
        pose=HeadPose(*(det(t) for t in (pose.global_rot, pose.neck, pose.jaw, pose.eye_left, pose.eye_right))),
        camera=det(camera), light=det(light), albedo=det(albedo), landmarks2d=det(px),
        landmark_error=det(d.mean(1)), irises2d=det(iris_px),
        albedo_code=None if albedo_code is None else det(albedo_code), history=history, seconds=time.perf_counter() - t0)


def _skin_vertex_mask(model: HeadModel) -> torch.Tensor:
    """1 on face skin used by the photometric term (eyes, lips and mouth interior excluded)."""
    names = model.region_names
    if "face" not in names:  # e.g. FLAME without its masks file: all skin
        return (model.vertex_part == 0).float()
    face = model.vertex_regions[names.index("face")] > 0
    for other in ("eyes", "mouth"):
        if other in names:
            face &= ~(model.vertex_regions[names.index(other)] > 0)
    return face.float()


def _resize(img: np.ndarray, size: int) -> np.ndarray:
    import cv2

    if img.shape[0] == size:
        return img
    interp = cv2.INTER_AREA if img.shape[0] > size else cv2.INTER_LINEAR
    return cv2.resize(img, (size, size), interpolation=interp)
