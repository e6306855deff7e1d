"""The reconstruction's stages, in memory: photos -> detected faces -> coarse fit -> albedo ->
detail -> the bundle's contents. Each stage is a function of plain data; `run_reconstruction`
runs them in order, timing each and reporting it to `progress(stage, fraction)`.
Any user-fixable problem raises ReconstructionError with a message that says what to do.
"""
from __future__ import annotations

import math
import platform
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .. import __version__
from ..bundle import AvatarBundle
from ..bundle.rig import rig_arrays
from ..detail import StaticDetail, fit_static_detail
from ..detail.person import deca_person_detail, fit_person_detail
from ..detail.photo_resolution import photo_pixels_per_texel, resolution_sigma
from ..detail.static import tangent_normal_map
from ..detect import DetectorUnavailable, crop_face, face_span, make_detector
from ..detect.glasses import glasses_frames
from ..detect.iris import find_irises, iris_array
from ..detect.point_sets import MEDIAPIPE478, POINT_SETS
from ..detect.strands import strand_mask
from ..fit import CoarseFit, FitSettings, Observation, fit_coarse
from ..headmodel import HeadModel, ModelFileError, load_head_model
from ..headmodel.albedo import AlbedoModel
from ..imageio import ImageLoadError, load_photo
from ..imageio.color import linear_to_srgb, to_uint8
from ..pictures.report import build_report
from ..render import MeshRenderer, OrthographicCamera
from ..texture import TextureResult, unwrap_albedo
from ..texture.roughness import roughness_map
from ..wrinkles.deca_checkpoint import CheckpointError, DecaNetworks, load_deca_checkpoint
from ..wrinkles.texture_decoder import load_openhead_decoder
from .settings import ReconstructionError, ReconstructSettings, check_settings, model_files, resolve_device

MIN_INTEROCULAR_PX = 24   # below this the landmarks are too coarse to fit a face
MIN_EYE_OPENING = 0.12    # lid gap over eye width below which an eye is taken as closed
ALBEDO_FIT_SIZE = 256     # texels of the albedo model in the photometric fit (DECA's size)
SFS_STEPS = {"fast": 0, "default": 80, "high": 250}   # shape-from-shading steps of the detail fit
# (fast: none, the decoder at its prior person code: at the residual's step size, 10 steps
# could move it by at most 0.1 mm; see benchmarks/NOTES.md)

Progress = Callable[[str, float], None]


@dataclass
class Inputs:
    """The photos and the models a run reads, each loaded once."""

    images: list                          # imageio.LoadedImage per photo
    model: HeadModel
    deca: DecaNetworks | None             # DECA's networks (FLAME with --deca)
    albedo_model: AlbedoModel | None      # the user's FLAME albedo model


@dataclass
class Faces:
    """Per photo: the chosen face's crop, its detected points in photo pixels (numbered as
    `point_set`), all face boxes found and the iris centres in crop pixels (NaN rows for an
    unseen eye)."""

    crops: list
    detected: list[np.ndarray]
    boxes: list[list[tuple[int, int, int, int]]]
    irises: list[np.ndarray]
    chosen: list[tuple[int, int, int, int]] = field(default_factory=list)   # the chosen face's box
    detector: str = ""                    # the landmark detector's name
    weights: str = ""                     # its weights where it has a choice (MediaPipe's mesh: MESH_WEIGHTS)
    point_set: str = "ibug68"             # detect.point_sets: how the points are numbered
    notes: list[str] = field(default_factory=list)   # what the user should know (bundle provenance)
    seen: list[np.ndarray] = field(default_factory=list)   # per photo (N,) bool: the point is in the photo
    face_px: list[float] = field(default_factory=list)     # per photo: the face's size (detect.face_span)
    frames: list = field(default_factory=list)             # per photo: (S, S) glasses frames in the crop
                                                           # (detect.glasses), or None
    strands: list = field(default_factory=list)            # per photo: (S, S) loose hair strands in the
                                                           # crop (detect.strands), or None

    @property
    def covers(self) -> list:
        """Per photo: (S, S) in [0, 1] what covers the face in the crop (frames and strands), or None."""
        return [None if f is None and h is None else np.maximum(0 if f is None else f, 0 if h is None else h)
                for f, h in zip(self.frames, self.strands)]


@dataclass
class Detail:
    detail: StaticDetail
    meta: dict                            # bundle.json 'detail' (decoder, code, layout), or {}
    code: np.ndarray | None = None        # (128,) the person's detail code, when a decoder made it
    residual: np.ndarray | None = None    # (S, S) metres: static detail the code does not explain
    photo_px_per_texel: float | None = None   # how finely the first photo saw the detail map (median)
    band_limit_texels: float = 0.0        # the Gaussian sigma its shape from shading was held to


@dataclass
class Reconstruction:
    """Everything a run made, in memory, before anything is written."""

    settings: ReconstructSettings
    device: str
    inputs: Inputs
    faces: Faces
    fit: CoarseFit
    posed: torch.Tensor                   # (B, V, 3) metres, each photo's fitted head
    rest: torch.Tensor                    # (1, V, 3) metres, the neutral fitted head
    texture: TextureResult
    detail: Detail
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def texture_px(self) -> int:
        """Albedo and normal-map texels per side."""
        return int(self.texture.albedo.shape[0])


def load_inputs(photos: list, s: ReconstructSettings) -> Inputs:
    images = []
    for p in photos:
        try:
            images.append(load_photo(p))
        except ImageLoadError as e:
            raise ReconstructionError(str(e)) from e
    try:
        model = load_head_model(s.model, model_files(s))
    except ModelFileError as e:
        raise ReconstructionError(str(e)) from e
    return Inputs(images, model, _load_deca(s), _load_albedo_model(s))


def check_user_files(s: ReconstructSettings) -> None:
    """Load the user's FLAME, DECA and albedo files once, as the run will: a missing, broken or
    refused file is the caller's error now, not a failed job later (the service checks before it
    queues)."""
    if s.model != "flame":
        return
    try:
        load_head_model(s.model, model_files(s))
    except ModelFileError as e:
        raise ReconstructionError(str(e)) from e
    _load_deca(s)
    _load_albedo_model(s)


def _load_albedo_model(s: ReconstructSettings) -> AlbedoModel | None:
    if not s.flame_albedo:
        return None
    try:
        return AlbedoModel(s.flame_albedo, size=ALBEDO_FIT_SIZE)
    except ModelFileError as e:
        raise ReconstructionError(str(e)) from e


def _load_deca(s: ReconstructSettings) -> DecaNetworks | None:
    if not s.deca_path:
        return None
    try:
        return load_deca_checkpoint(Path(s.deca_path).expanduser())
    except CheckpointError as e:
        raise ReconstructionError(str(e)) from e


def landmark_detector(s: ReconstructSettings, model: HeadModel) -> tuple[str, str | None]:
    """The detector to run: the chosen one, or dlib's 68 points when the head model embeds no
    dense points (FLAME without --flame-mediapipe). -> (name, a note saying so, or None)."""
    if s.landmarks == "mediapipe" and MEDIAPIPE478.name not in model.landmark_sets():
        return "dlib", (f"the {model.name} head model has no embedding of MediaPipe's points (for FLAME: "
                        "--flame-mediapipe mediapipe_landmark_embedding.npz); dlib's 68 points were used")
    return s.landmarks, None


def detect_faces(images: list, s: ReconstructSettings, device: str, progress: Progress,
                 model: HeadModel) -> Faces:
    """The face --face-index picks in each photo (largest first), cropped, with its irises. The
    crops are cropped at one side for all photos, set by the largest face (settings.crop_px).
    MediaPipe's mesh runs with the weights settings.mesh_choice() names."""
    name, note = landmark_detector(s, model)
    try:
        detector = make_detector(name, device=device, dlib_detector=s.face_detector,
                                 mesh_weights=s.mesh_choice())
    except (DetectorUnavailable, ValueError) as e:
        raise ReconstructionError(str(e)) from e
    found = Faces([], [], [], [], detector=detector.name, weights=getattr(detector, "mesh_weights", ""),
                  point_set=detector.point_set, notes=[note] if note else [])
    box = POINT_SETS[detector.point_set].box
    for k, img in enumerate(images):
        face = _chosen_face(img, detector.detect(img.rgb), s, found)
        found.detected.append(face.points)
        h, w = img.rgb.shape[:2]
        found.seen.append((face.points >= 0).all(1) & (face.points[:, 0] < w) & (face.points[:, 1] < h))
        found.chosen.append(face.box)
        found.face_px.append(face_span(face.points, box))
        progress("detect", (k + 1) / len(images))
    side = s.crop_px(max(found.face_px))
    for img, points in zip(images, found.detected):
        found.crops.append(crop_face(img.rgb, points, side, box=box))
        found.irises.append(iris_centres_in_crop(found.crops[-1], POINT_SETS[detector.point_set]))
        crop, point_set = found.crops[-1], POINT_SETS[detector.point_set]
        found.frames.append(glasses_frames(crop.image, crop.landmarks, point_set))
        found.strands.append(strand_mask(crop.image, crop.landmarks, point_set))
        for mask, what in ((found.frames[-1], "glasses frames"), (found.strands[-1], "loose hair strands")):
            if mask is not None:
                found.notes.append(f"photo {len(found.frames)}: {what} found, left out of the albedo and detail")
    if len(images) > 1 and not s.allow_different_people:
        check_one_person(images, found.chosen)
    return found


def _chosen_face(img, faces: list, s: ReconstructSettings, found: Faces):
    """The face --face-index picks among a photo's detections (recorded in found.boxes), or
    ReconstructionError when there is none or it is too small."""
    found.boxes.append([f.box for f in faces])
    if not faces:
        raise ReconstructionError(f"{img.path}: no face found. Use a photo where the face is "
                                  "visible, lit, at least ~100 pixels wide and turned less than "
                                  "~45 degrees from the camera (a profile is past the fit's range).")
    if s.face_index >= len(faces):
        raise ReconstructionError(f"{img.path}: --face-index {s.face_index} asked for, but only "
                                  f"{len(faces)} face(s) found (0 is the largest)")
    face = faces[s.face_index]
    if face.interocular < MIN_INTEROCULAR_PX:
        raise ReconstructionError(
            f"{img.path}: the face is too small ({face.interocular:.0f} px between the eye "
            f"corners, at least {MIN_INTEROCULAR_PX} needed); use a closer or larger photo")
    return face


def iris_centres_in_crop(crop, point_set) -> np.ndarray:
    """(2, 2) iris centres in crop pixels, image-left eye first, NaN rows for an unseen eye: the
    detector's own (MediaPipe's iris model) where the lids are open, else the hand-made finder
    inside the 68-point eye contours."""
    if point_set.iris_centres is None:
        return iris_array(find_irises(crop.image, crop.landmarks))
    pts = crop.landmarks
    irises = pts[list(point_set.iris_centres)].astype(np.float64)
    for eye, ((a, b), (upper, lower)) in enumerate(zip(point_set.eye_corners, point_set.lid_middles)):
        if np.linalg.norm(pts[upper] - pts[lower]) < MIN_EYE_OPENING * np.linalg.norm(pts[a] - pts[b]):
            irises[eye] = np.nan                            # a closed eye shows no iris
    return irises


def check_one_person(images: list, boxes: list) -> None:
    """Photos fitted as one identity must show one person: every pair of the chosen faces within
    dlib's same-person distance, else ReconstructionError naming the photos."""
    from ..detect.identity import SAME_PERSON, FaceEmbedder

    emb = FaceEmbedder()
    vecs = [emb.embed_box(img.rgb, box) for img, box in zip(images, boxes)]
    for i in range(len(vecs)):
        for j in range(i + 1, len(vecs)):
            d = FaceEmbedder.distance(vecs[i], vecs[j])
            if d >= SAME_PERSON:
                raise ReconstructionError(
                    f"{images[i].path} and {images[j].path} look like different people (face distance {d:.2f}, "
                    f"the same person is under {SAME_PERSON}); give photos of one person, or "
                    "--allow-different-people to fit them as one anyway")


def fitted_heads(model: HeadModel, fit: CoarseFit, n_photos: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(posed (B, V, 3), rest (1, V, 3)) metres in the model frame."""
    with torch.no_grad():
        posed = model(shape=fit.shape.expand(n_photos, -1), expression=fit.expression, pose=fit.pose).vertices
        rest = model(shape=fit.shape).vertices
    return posed, rest


def make_texture(inputs: Inputs, fit: CoarseFit, faces: Faces, posed: torch.Tensor, size: int) -> TextureResult:
    prior = None
    if inputs.albedo_model is not None:   # the fitted model albedo fills the skin the photos do not show
        with torch.no_grad():
            prior = torch.nn.functional.interpolate(inputs.albedo_model.cpu()(fit.albedo_code), size=(size,) * 2,
                                                    mode="bilinear", align_corners=False)[0].permute(1, 2, 0)
    return unwrap_albedo(inputs.model, posed, fit.camera, fit.light, [c.image for c in faces.crops], size,
                         skin_prior=prior, covers=faces.covers)


def make_detail(inputs: Inputs, s: ReconstructSettings, fit: CoarseFit, faces: Faces, posed: torch.Tensor,
                rest: torch.Tensor, tex: TextureResult) -> Detail:
    """DECA's encoder and decoder (FLAME with --deca), OpenHead's decoder with a fitted person code
    and residual, or shape from shading alone (FLAME without DECA); the normal map at the
    albedo's size."""
    model = inputs.model
    texture_px = tex.albedo.shape[0]
    iters = SFS_STEPS[s.quality]
    if inputs.deca is not None:
        code, static = deca_person_detail(model, inputs.deca, faces.crops[0].image)
        detail = StaticDetail(static, tangent_normal_map(model, rest, torch.as_tensor(static)[None], texture_px))
        return Detail(detail, {"decoder": "deca", "decoder_path": str(Path(s.deca_path).expanduser().resolve()),
                               "code": code.tolist(), "latent_layout": "cat(jaw 3, FLAME expression 50, code 128)"},
                      code=np.asarray(code, np.float32))
    # shape from shading at what the first photo resolves (detail/photo_resolution.py)
    crop = faces.crops[0]
    ppt = photo_pixels_per_texel(model, posed[:1], fit.camera[:1], crop.size, crop.matrix, tex.observed,
                                 s.detail_size)
    sigma = resolution_sigma(ppt)
    decoder = load_openhead_decoder(n_expression=model.n_expression) if model.name == "openhead" else None
    if decoder is None:
        return Detail(fit_static_detail(model, rest, posed[:1], fit.light[:1], tex.albedo, tex.observed,
                                        size=s.detail_size, texture_size=texture_px, iterations=iters,
                                        photo_sigma=sigma), {}, photo_px_per_texel=ppt, band_limit_texels=sigma)
    pd = fit_person_detail(model, decoder, rest, posed[:1], fit.light[:1], tex.albedo, tex.observed,
                           fit.expression[:1], fit.pose.jaw[:1], size=s.detail_size,
                           texture_size=texture_px, iterations=iters, photo_sigma=sigma)
    meta = {"decoder": "assets/detail/openhead_detail", "code": pd.code.tolist(),
            "latent_layout": "cat(jaw 3, ARKit expression 52, code 128)", "residual": "detail_residual.png"}
    return Detail(StaticDetail(pd.static, pd.normal_map, pd.loss_start, pd.loss_end), meta,
                  code=np.asarray(pd.code, np.float32), residual=pd.residual, photo_px_per_texel=ppt,
                  band_limit_texels=sigma)


def run_reconstruction(photos: list[str | Path], s: ReconstructSettings, progress: Progress) -> Reconstruction:
    """Every stage up to the bundle's contents, in memory."""
    if not photos:
        raise ReconstructionError("give at least one photo")
    check_settings(s)
    device = resolve_device(s.device)
    timings: dict[str, float] = {}

    def timed(stage: str, fn, *args):
        t = time.perf_counter()
        out = fn(*args)
        timings[stage] = time.perf_counter() - t
        return out

    inputs = timed("load", load_inputs, photos, s)
    progress("load", 1.0)
    faces = timed("detect", detect_faces, inputs.images, s, device, progress, inputs.model)
    obs = [Observation(c.image, c.landmarks, faces.irises[i], faces.point_set, faces.seen[i])
           for i, c in enumerate(faces.crops)]
    fit = timed("fit", lambda: fit_coarse(inputs.model, obs, FitSettings(quality=s.quality, device=device,
                                                                          init=s.fit_init(faces.point_set)),
                                          progress=lambda stage, frac: progress("fit", frac),
                                          albedo_model=inputs.albedo_model))
    inputs.model = inputs.model.cpu()
    t = time.perf_counter()
    posed, rest = fitted_heads(inputs.model, fit, len(obs))
    tex = make_texture(inputs, fit, faces, posed, s.texture_px(max(faces.face_px)))
    fit = replace(fit, light=tex.lights)      # the light the de-lit albedo asks for (texture/delight.py)
    timings["texture"] = time.perf_counter() - t
    progress("texture", 1.0)
    detail = timed("detail", make_detail, inputs, s, fit, faces, posed, rest, tex)
    progress("detail", 1.0)
    return Reconstruction(s, device, inputs, faces, fit, posed, rest, tex, detail, timings)


def _renders(r: Reconstruction, texture_t: torch.Tensor) -> tuple[list, list]:
    """The textured fit drawn into each crop: sRGB uint8 images and alpha masks."""
    model, fit = r.inputs.model, r.fit
    rr = MeshRenderer(model.faces, model.uv_layout.uv, model.uv_layout.faces)
    renders, alphas = [], []
    for i, c in enumerate(r.faces.crops):
        with torch.no_grad():
            out = rr.render(r.posed[i:i + 1], OrthographicCamera(fit.camera[i:i + 1]), (c.size, c.size),
                            light=fit.light[i:i + 1], texture=texture_t)
        renders.append(to_uint8(linear_to_srgb(out.image[0])))
        alphas.append(out.alpha[0, ..., 0].numpy())
    return renders, alphas


def _photo_meta(r: Reconstruction, i: int, fitted_crop: np.ndarray) -> dict:
    """bundle.json parameters.photos[i]: the photo's own fit, landmarks and irises in photo pixels."""
    img, crop, fit, faces = r.inputs.images[i], r.faces.crops[i], r.fit, r.faces
    return {
        "photo": str(img.path), "image_size": [int(img.rgb.shape[1]), int(img.rgb.shape[0])],
        "crop_matrix": crop.matrix.tolist(),
        "expression": fit.expression[i].tolist(),
        "pose": {k: getattr(fit.pose, k)[i].tolist() for k in ("global_rot", "neck", "jaw", "eye_left", "eye_right")},
        "camera": fit.camera[i].tolist(), "light": fit.light[i].tolist(),
        "landmarks_detected": faces.detected[i].tolist(),
        "landmarks_fitted": crop.to_photo(fitted_crop).tolist(),
        "landmark_error_iod": float(fit.landmark_error[i]),
        # image-left eye first; null where no iris was seen (that eye's pose is then not measured)
        "irises_detected": [crop.to_photo(p[None])[0].tolist() if np.isfinite(p).all() else None
                            for p in faces.irises[i]],
        "irises_fitted": crop.to_photo(fit.irises2d[i].numpy()).tolist(),
        "faces_found": [list(b) for b in faces.boxes[i]],
        "key_light": _key_light_meta(r.texture.key_lights[i]),
        # per channel, what brought this photo's albedo to one colour (texture/equalise.py): for the
        # first photo its light's tint (its colour as shot), for the others another exposure or
        # white balance matched to the photos before them
        "colour_gain": [round(float(g), 4) for g in r.texture.colour_gains[i]],
    }


def _key_light_notes(r: Reconstruction) -> list[str]:
    def where(m: dict) -> str:
        side = "left" if m["azimuth_deg"] < 0 else "right"
        return (f"{abs(m['azimuth_deg']):.0f} degrees to the image's {side}, {m['elevation_deg']:.0f} degrees up, "
                f"{m['ratio']:g}x the ambient")
    return [f"photo {i + 1}: lit by a hard key light ({where(m)}); its cast shadows and highlight were taken "
            "out of the albedo" for i, m in enumerate(map(_key_light_meta, r.texture.key_lights)) if m]


def _key_light_meta(key) -> dict | None:
    """bundle.json parameters.photos[i].key_light: the hard key light the photo was de-lit under
    (texture/key_light.py), or null where its SH light was used."""
    if key is None:
        return None
    az, el = key.azimuth_elevation_deg
    return {"direction": key.direction.tolist(), "azimuth_deg": round(az, 1), "elevation_deg": round(el, 1),
            "ratio": key.ratio}


def _bundle_meta(r: Reconstruction, fitted_crop: list) -> dict:
    model, fit, s = r.inputs.model, r.fit, r.settings
    meta = {
        "model": {"name": model.name, "n_shape": model.n_shape, "n_expression": model.n_expression,
                  "expression_names": model.expression_names, "joint_names": model.joint_names,
                  "files": model_files(s)},
        "parameters": {"shape": fit.shape[0].tolist(),
                       "photos": [_photo_meta(r, i, fitted_crop[i]) for i in range(len(r.inputs.images))],
                       "albedo_mean_linear": fit.albedo[0].tolist()},
        "landmarks": {"detector": r.faces.detector, "weights": r.faces.weights, "point_set": r.faces.point_set,
                      "fitted_index": fit.landmark_index.tolist()},
        "textures": {"albedo": {"file": "albedo.png", "color": "sRGB", "size": r.texture_px},
                     "normal": {"file": "normal.png", "space": "tangent, OpenGL (+Y = +v)", "size": r.texture_px},
                     "resolution": _resolution_meta(r)},
        "provenance": {"headsmith": __version__, "torch": torch.__version__, "python": platform.python_version(),
                       "device": r.device, "settings": asdict(s), "fit_init": s.fit_init(r.faces.point_set),
                       "timings_s": dict(r.timings)},   # stages before writing the bundle
        "frame": "metres, right-handed, y up, face toward +z (FLAME)",
    }
    notes = [img.note for img in r.inputs.images if img.note] + r.faces.notes + _key_light_notes(r)
    if notes:
        meta["provenance"]["notes"] = notes
    if r.detail.meta:
        meta["detail"] = r.detail.meta
    if r.inputs.albedo_model is not None:
        meta["albedo_model"] = {"file": r.inputs.albedo_model.path, "kind": r.inputs.albedo_model.kind,
                                "code": fit.albedo_code[0].tolist()}
    return meta


def _resolution_meta(r: Reconstruction) -> dict:
    """Why the textures have the size they have (bundle.json textures.resolution)."""
    face_px = max(r.faces.face_px)
    size, why = r.settings.texture_choice(face_px)
    out = {"size": size, "face_px": round(face_px, 1), "crop_px": int(r.faces.crops[0].size), "rule": why}
    d = r.detail
    if d.photo_px_per_texel is not None and math.isfinite(d.photo_px_per_texel):
        out["relief"] = {"detail_size": int(d.detail.displacement.shape[0]),
                         "photo_px_per_texel": round(d.photo_px_per_texel, 3),
                         "band_limit_texels": round(d.band_limit_texels, 3)}
    return out


def _relief_note(d: Detail) -> str:
    """How finely the photo saw the displacement map, for its label in report.png."""
    if d.photo_px_per_texel is None or not math.isfinite(d.photo_px_per_texel):
        return ""
    return f"photo {d.photo_px_per_texel:.2f} px/texel"


def bundle_contents(r: Reconstruction) -> AvatarBundle:
    """report.png, bundle.json and the arrays of the bundle, from a run (no wrinkles yet)."""
    model, fit, crops = r.inputs.model, r.fit, r.faces.crops
    detail = r.detail.detail
    albedo_srgb = to_uint8(linear_to_srgb(r.texture.albedo))
    texture_t = torch.as_tensor(r.texture.albedo).permute(2, 0, 1)[None]
    renders, alphas = _renders(r, texture_t)
    fitted_crop = [fit.landmarks2d[i].numpy() for i in range(len(crops))]
    report = build_report(model, fit.shape, [c.image for c in crops], renders, alphas,
                          [c.landmarks for c in crops], fitted_crop, albedo_srgb, detail.displacement,
                          detail.normal_map, texture_t, fit.light[:1],
                          irises=[(r.faces.irises[i], fit.irises2d[i].numpy()) for i in range(len(crops))],
                          texture_note=f"face {max(r.faces.face_px):.0f} px across", relief_note=_relief_note(r.detail))
    lay = model.uv_layout
    mesh = dict(vertices=r.rest[0].numpy(), faces=model.faces.numpy(), uv=lay.uv.numpy(),
                uv_faces=lay.faces.numpy(), face_part=model.face_part.numpy(), part_names=model.part_names)
    extra = {} if r.detail.residual is None else {"detail_residual": r.detail.residual}
    return AvatarBundle(_bundle_meta(r, fitted_crop), mesh, albedo_srgb, detail.displacement, detail.normal_map,
                        report, extra_displacements=extra, rig=rig_arrays(model, fit.shape[:1]),
                        coverage=r.texture.coverage, roughness=roughness_map(model))
