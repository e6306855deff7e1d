"""The coarse fit's stages, each a loop of the project's Adam over some of FitState's
parameters: rigid (camera and head rotation), landmarks (with identity, expression and jaw; also
the final polish), photometric (the image leads the identity; light and albedo join), and gaze
(each eye's rotation from the iris centres). coarse.fit_coarse runs them in that order."""
from __future__ import annotations

import numpy as np
import torch

from ..headmodel import HeadModel
from ..headmodel.albedo import AlbedoModel
from ..headmodel.lbs import axis_angle_to_matrix
from ..imageio.color import srgb_to_linear
from ..optim import Adam
from ..render import Fragments, MeshRenderer, OrthographicCamera, default_light
from ..render.shading import light_implausibility, sphere_directions
from .terms import FitState

VISIBILITY_STEPS = 6   # photometric steps between z-buffer passes (see rasterize's visibility)
PHOTO_PIXEL_SHARE = 0.2   # of the skin pixels the photometric term reads per step (_pixel_sample)


def rigid_stage(st: FitState, steps: int) -> None:
    opt = Adam([st.camera, st.global_rot], lr=0.01)
    for _ in range(steps):
        opt.zero_grad()
        lmk, _, _, _ = st.landmark_terms(st.landmarks_ndc())
        lmk.backward()
        opt.step()
        st.history["rigid"].append(float(lmk.detach()))
        st.steps.step("rigid")


def clamp_expression(st: FitState) -> None:
    """Expressions within the model's range (ARKit weights 0..1; FLAME's components -3..3 standard
    deviations), the jaw between a little closed and wide open (radians)."""
    with torch.no_grad():
        st.expression.clamp_(*st.model.expression_range)
        st.jaw[:, 0].clamp_(-0.05, 0.6)


def landmark_stage(st: FitState, opt: Adam, steps: int, stage: str) -> None:
    """Landmarks, eye and lip closure and the priors, on the optimizer's parameters."""
    s = st.settings
    for _ in range(steps):
        opt.zero_grad()
        lmk, eye, lip, _ = st.landmark_terms(st.landmarks_ndc())
        loss = s.w_landmark * lmk + s.w_eye * eye + s.w_lip * lip + st.priors()
        loss.backward()
        opt.step()
        clamp_expression(st)
        st.history[stage].append(float(loss.detach()))
        st.steps.step(stage)


class SkinRender:
    """The photometric stage's render, only at the pixels whose face is skin. The z-buffer pass is
    redone every VISIBILITY_STEPS steps and its faces per pixel kept in between (the head moves a
    fraction of a pixel per step); only the skin pixels of each pass are shaded. Each step poses
    only the vertices it reads (HeadModel.forward_subset): those of the skin faces' one-ring (so
    the vertex normals at the skin are the whole mesh's) and of the landmarks."""

    def __init__(self, st: FitState, observations: list, albedo_model: AlbedoModel | None, size: int):
        model, dev = st.model, st.camera.device
        self.st, self.size, self.albedo_model = st, size, albedo_model
        target = torch.stack([torch.as_tensor(
            _resize(o.image, size), dtype=torch.float32, device=dev) / 255.0 for o in observations])
        self.target_flat = srgb_to_linear(target).reshape(-1, 3)
        faces = model.faces
        self.skin_face = (skin_vertex_mask(model)[faces].sum(1) >= 2).to(dev)  # 2+ skin corners
        at_skin = torch.zeros(model.n_vertices, dtype=torch.bool, device=dev)
        at_skin[faces[self.skin_face].reshape(-1)] = True
        ring = at_skin[faces].any(1)                               # faces around the skin's corners
        self.vertices = torch.unique(torch.cat([faces[ring].reshape(-1),
                                                model.landmark_vertex_index(st.embedding)]))
        self.ring_of = torch.full((faces.shape[0] + 1,), -1, dtype=torch.long, device=dev)   # [-1] stays -1
        self.ring_of[torch.nonzero(ring).squeeze(1)] = torch.arange(int(ring.sum()), device=dev)
        ring_faces = model.renumbered_faces(self.vertices)[ring]
        self.whole = MeshRenderer(faces)                           # the z-buffer sees every face
        if albedo_model is None:
            self.renderer = MeshRenderer(ring_faces)
        else:
            self.renderer = MeshRenderer(ring_faces, model.uv_layout.uv, model.uv_layout.faces[ring])

    def posed(self):
        """-> ((B, K, 3) the posed skin-ring and landmark vertices, (B, N, 2) landmarks in NDC)."""
        st = self.st
        verts, lmk = st.model.forward_subset(self.vertices, st.shape.expand(st.n_photos, -1),
                                             st.expression * st.fitted_expr, st.pose(), st.embedding)
        return verts, OrthographicCamera(st.camera).project_ndc(lmk)

    @torch.no_grad()
    def visibility(self):
        """The z-buffer pass over the whole mesh, cut to the skin pixels (their faces numbered in
        the render's ring), and the photo at them."""
        R, st = self.size, self.st
        out, _, _ = st.forward()
        frags = self.whole.visibility(out.vertices, OrthographicCamera(st.camera), (R, R))
        face = frags.face_index.reshape(-1)[frags.pixels]
        keep = torch.nonzero(self.skin_face[face]).squeeze(1)
        pixels = frags.pixels[keep]
        return (Fragments(self.ring_of[frags.face_index], None, None, pixels, frags.pixel_batch[keep]),
                self.target_flat[pixels])

    def render(self, vertices, visibility):
        """-> (render, (N, 3) image at the skin pixels): the albedo model's texture, or one mean
        skin colour (image = shading x colour: nothing to interpolate)."""
        st, R = self.st, self.size
        cam = OrthographicCamera(st.camera)
        if self.albedo_model is None:
            r = self.renderer.shade_pixels(vertices, cam, (R, R), light=st.light, visibility=visibility)
            return r, r.shading * st.albedo[0]
        r = self.renderer.shade_pixels(vertices, cam, (R, R), light=st.light, visibility=visibility,
                                       texture=self.albedo_model(st.albedo_code))
        return r, r.image


def _start_light_and_albedo(st: FitState, sr: SkinRender):
    """Light and albedo from one render at the default light: the albedo from the skin's median
    ratio; with an albedo model, the light per channel takes the ratio of the photo to the model's
    mean colour (which also covers the camera's white balance). -> the skin visibility."""
    with torch.no_grad():
        skin, skin_target = sr.visibility()
        r, image = sr.render(sr.posed()[0], skin)          # its shading does not depend on the albedo
        st.albedo = (skin_target.median(0).values / r.shading.median(0).values.clamp(min=1e-3))[None]
        if sr.albedo_model is not None:
            st.light.mul_((skin_target.median(0).values / image.median(0).values.clamp(min=1e-3))[None, None])
    st.albedo = st.albedo.clone().requires_grad_(True)
    return skin, skin_target


def _photometric_optimizer(st: FitState, albedo_model: AlbedoModel | None, steps: int) -> Adam:
    """Step sizes per parameter group; their measured history is in benchmarks/NOTES.md."""
    params = [{"params": [st.camera, st.global_rot], "lr": 0.002}, {"params": [st.shape], "lr": 0.02},
              {"params": [st.expression], "lr": 0.01}, {"params": [st.jaw], "lr": 0.005},
              {"params": [st.light], "lr": 0.02}]
    if albedo_model is None:
        params.append({"params": [st.albedo], "lr": 0.01})
    else:
        st.albedo_code.requires_grad_(True)
        params.append({"params": [st.albedo_code], "lr": 0.5})
    return Adam(params, total_steps=steps)


def _pixel_sample(skin: Fragments, target: torch.Tensor, gen: torch.Generator) -> tuple[Fragments, torch.Tensor]:
    """A random PHOTO_PIXEL_SHARE of the skin pixels and their photo colours, drawn anew each step:
    the photometric term is a mean over pixels, so its expected gradient is the full one's."""
    n = target.shape[0]
    keep = torch.randperm(n, generator=gen, device=target.device)[:max(1, int(n * PHOTO_PIXEL_SHARE))]
    return Fragments(skin.face_index, None, None, skin.pixels[keep], skin.pixel_batch[keep]), target[keep]


def photometric_stage(st: FitState, observations: list, albedo_model: AlbedoModel | None, steps: int,
                      size: int) -> AlbedoModel | None:
    """A robust (clamped L1) photometric term on the face skin plus the landmark terms at a low
    weight. Sets st.light, st.albedo (and st.albedo_code with an albedo model). -> the albedo
    model on the fit's device."""
    dev, s = st.camera.device, st.settings
    st.light = default_light(st.n_photos, device=dev).requires_grad_(True)
    st.albedo = torch.tensor([[0.45, 0.32, 0.26]], device=dev)
    st.albedo_code = None if albedo_model is None else torch.zeros(1, albedo_model.n_components, device=dev)
    if steps <= 0:
        return albedo_model
    if albedo_model is not None:
        albedo_model = albedo_model.to(dev)
    sr = SkinRender(st, observations, albedo_model, size)
    skin, skin_target = _start_light_and_albedo(st, sr)
    opt = _photometric_optimizer(st, albedo_model, steps)
    directions = sphere_directions().to(dev)
    gen = torch.Generator(device=dev).manual_seed(s.seed)
    for step in range(steps):
        opt.zero_grad()
        verts, ndc = sr.posed()
        lmk, eye, lip, _ = st.landmark_terms(ndc)
        if step % VISIBILITY_STEPS == 0 and step > 0:
            skin, skin_target = sr.visibility()
        part, part_target = _pixel_sample(skin, skin_target, gen)
        r, image = sr.render(verts, part)
        albedo_prior = 0.0 if albedo_model is None else s.w_albedo_code * (st.albedo_code ** 2).sum()
        dark, chroma = light_implausibility(st.light, directions)
        light_prior = (s.w_light_dark * dark + s.w_light_chroma * chroma).mean()
        resid = (image - part_target).abs()
        photo = torch.clamp(resid, max=s.photo_clamp).sum() / max(resid.shape[0], 1) / 3
        loss = (s.w_photo * photo + st.w_landmark_photo * lmk + s.w_eye * eye + s.w_lip * lip + st.priors()
                + albedo_prior + light_prior)
        loss.backward()
        opt.step()
        clamp_expression(st)
        with torch.no_grad():
            st.albedo.clamp_(0.02, 1.0)
        st.history["photo"].append(float(photo.detach()))
        st.steps.step("photo")
    if albedo_model is not None:   # the mean skin reflectance the rest of the pipeline reports
        with torch.no_grad():
            st.albedo = r.albedo.median(0).values[None]
    return albedo_model


def gaze_stage(st: FitState, steps: int) -> None:
    """The eyelid landmarks do not move with the eyeballs, so only the eye rotations are free; an
    eye whose iris was not seen follows the other through the vergence prior, and stays straight
    ahead when neither was. An eyeball turns rigidly about its centre (where the eye joint sits),
    inside the head's frame, so the iris point is p(g) = p0 + R_head (R_eye(g) - I) d, with p0 the
    posed point looking ahead and d its offset from the eyeball centre in the rest template: no
    model evaluation per step."""
    model, dev, s, B = st.model, st.camera.device, st.settings, st.n_photos
    with torch.no_grad():
        out0, pose0, _ = st.forward()                                     # gaze is zero here
        p0 = st.iris_points(out0)                                          # (B, 2, 3)
        Rh = model.head_rotation(pose0)                                    # (B, 3, 3)
        tmpl = (model.v_template[model.faces[st.iris_faces]] * st.iris_bary[..., None]).sum(1)
        d_rest = tmpl - torch.as_tensor(model.eyeball_centres(), dtype=tmpl.dtype, device=dev)
        cam = OrthographicCamera(st.camera.detach())
    eye3 = torch.eye(3, device=dev)
    opt = Adam([st.gaze], lr=0.03, total_steps=steps)
    w_seen = st.iris_seen.float()
    vergence = torch.tensor(s.vergence_sigma, device=dev)
    gaze = st.gaze
    for _ in range(steps):
        opt.zero_grad()
        Re = axis_angle_to_matrix(torch.nn.functional.pad(gaze, (0, 1)).reshape(-1, 3)).reshape(B, 2, 3, 3)
        p = p0 + torch.einsum("bij,bejk,ek->bei", Rh, Re - eye3, d_rest)
        d = (cam.project_ndc(p) - st.iris_det).norm(dim=-1) / st.iod[:, None]   # (B, 2) inter-ocular units
        loss = ((w_seen * d ** 2).sum() / s.iris_sigma ** 2
                + (gaze ** 2).sum() / s.gaze_sigma ** 2
                + (((gaze[:, 0] - gaze[:, 1]) / vergence) ** 2).sum()) / B
        loss.backward()
        opt.step()
        with torch.no_grad():
            gaze[..., 0].clamp_(-0.5, 0.5)
            gaze[..., 1].clamp_(-0.7, 0.7)
        st.history["gaze"].append(float(loss.detach()))
        st.steps.step("gaze")


def skin_vertex_mask(model: HeadModel) -> torch.Tensor:
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
