"""Photo(s) of one person -> avatar bundle.

Stages (each timed, each reported to `progress(stage, fraction)`):
load -> detect (largest face or --face-index) -> crop -> coarse fit -> albedo texture ->
static detail -> bundle (atomic). Any user-fixable problem raises ReconstructionError with a
message that says what to do; nothing is written to the output before the final swap.
"""
from __future__ import annotations

import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .. import __version__
from ..bundle import AvatarBundle, write_bundle
from ..bundle.rig import rig_arrays
from ..detect import DetectorUnavailable, crop_face, make_detector
from ..detect.iris import find_irises, iris_array
from ..detail import StaticDetail, fit_static_detail
from ..detail.deca_checkpoint import CheckpointError, load_deca_checkpoint
from ..detail.person import deca_person_detail, fit_person_detail, load_openhead_decoder
from ..detail.sources import FLAME_FILE_KEYS
from ..detail.static import tangent_normal_map
from ..fit import FitSettings, Observation, fit_coarse
from ..headmodel import HeadModel, ModelFileError
from ..headmodel.albedo import AlbedoModel
from ..imageio import ImageLoadError, load_photo
from ..imageio.color import linear_to_srgb, to_uint8
from ..render import MeshRenderer, OrthographicCamera
from ..texture import unwrap_albedo
from .report import build_report

MIN_INTEROCULAR_PX = 24   # below this the landmarks are too coarse to fit a face
ALBEDO_FIT_SIZE = 256     # texels of the albedo model in the photometric fit (DECA's size)


class ReconstructionError(RuntimeError):
    """A problem with the input or settings; str(e) tells the user what to do."""


@dataclass
class ReconstructSettings:
    model: str = "openhead"                 # "openhead" or "flame"
    flame_path: str | None = None
    flame_landmarks: str | None = None
    flame_uv: str | None = None
    flame_masks: str | None = None
    flame_albedo: str | None = None         # FLAME_albedo_from_BFM.npz / FLAME_texture.npz (optional)
    deca_path: str | None = None            # DECA's deca_model.tar: wrinkles for FLAME heads
    landmarks: str = "dlib"                 # "dlib" or "fan"
    face_detector: str = "hog"              # dlib's "hog" (fast) or "cnn" (finds harder faces)
    quality: str = "default"                # "fast", "default", "high"
    device: str = "auto"                    # "auto", "cpu", "cuda"
    face_index: int = 0
    crop_size: int = 512
    texture_size: int = 1024
    detail_size: int = 256


@dataclass
class ReconstructResult:
    out: Path
    faces_found: list[list[tuple[int, int, int, int]]]   # per photo, boxes, largest first
    landmark_error: list[float]                          # per photo, / inter-ocular distance
    timings: dict[str, float] = field(default_factory=dict)


def resolve_device(name: str) -> str:
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ReconstructionError("--device cuda was asked for, but torch sees no CUDA device; "
                                  "use --device cpu or auto")
    if name not in ("cpu", "cuda"):
        raise ReconstructionError(f"--device must be auto, cpu or cuda, not {name!r}")
    return name


def load_model(s: ReconstructSettings) -> HeadModel:
    try:
        if s.model == "openhead":
            from ..headmodel import OpenHead
            return OpenHead()
        if s.model == "flame":
            if not s.flame_path:
                raise ReconstructionError("--model flame needs --flame PATH/generic_model.pkl (your licensed copy)")
            if not s.flame_landmarks or not s.flame_uv:
                raise ReconstructionError(
                    "--model flame also needs DECA's landmark_embedding.npy (--flame-landmarks) and "
                    "head_template.obj (--flame-uv) for landmarks and textures")
            from ..headmodel.flame import FLAME
            return FLAME(s.flame_path, s.flame_landmarks, s.flame_uv, s.flame_masks)
    except (ModelFileError, FileNotFoundError) as e:
        raise ReconstructionError(str(e)) from e
    raise ReconstructionError(f"unknown --model {s.model!r}: use openhead or flame")


def load_albedo_model(s: ReconstructSettings) -> AlbedoModel | None:
    """The user's FLAME albedo model (FLAME only), or None."""
    if not s.flame_albedo:
        return None
    if s.model != "flame":
        raise ReconstructionError("--flame-albedo is an albedo model in FLAME's UV layout; use it with --model flame")
    try:
        return AlbedoModel(s.flame_albedo, size=ALBEDO_FIT_SIZE)
    except ModelFileError as e:
        raise ReconstructionError(str(e)) from e


def load_deca(s: ReconstructSettings):
    """DECA's networks from the user's deca_model.tar (FLAME only), or None."""
    if not s.deca_path:
        return None
    if s.model != "flame":
        raise ReconstructionError("--deca is DECA's checkpoint for FLAME heads; use it with --model flame "
                                  "(OpenHead has its own shipped decoder)")
    try:
        return load_deca_checkpoint(Path(s.deca_path).expanduser())
    except CheckpointError as e:
        raise ReconstructionError(str(e)) from e


def model_file_paths(s: ReconstructSettings) -> dict:
    """The user's FLAME files (absolute paths) that later stages (wrinkles, live decode) reload."""
    if s.model != "flame":
        return {}
    return {k: str(Path(getattr(s, k)).expanduser().resolve()) for k in FLAME_FILE_KEYS if getattr(s, k)}


def reconstruct(photos: list[str | Path], out: str | Path, settings: ReconstructSettings | None = None,
                progress: Callable[[str, float], None] | None = None) -> ReconstructResult:
    s = settings or ReconstructSettings()
    prog = progress or (lambda stage, frac: None)
    timings: dict[str, float] = {}
    if not photos:
        raise ReconstructionError("give at least one photo")
    if s.quality not in ("fast", "default", "high"):
        raise ReconstructionError(f"--quality must be fast, default or high, not {s.quality!r}")
    if s.face_index < 0:
        raise ReconstructionError("--face-index must be 0 or more")
    device = resolve_device(s.device)

    t = time.perf_counter()
    images = []
    for p in photos:
        try:
            images.append(load_photo(p))
        except ImageLoadError as e:
            raise ReconstructionError(str(e)) from e
    model = load_model(s)
    deca = load_deca(s)
    albedo_model = load_albedo_model(s)
    timings["load"] = time.perf_counter() - t
    prog("load", 1.0)

    t = time.perf_counter()
    try:
        detector = make_detector(s.landmarks, device=device, dlib_detector=s.face_detector)
    except DetectorUnavailable as e:
        raise ReconstructionError(str(e)) from e
    except ValueError as e:
        raise ReconstructionError(str(e)) from e
    crops, detected, boxes, irises = [], [], [], []
    for k, img in enumerate(images):
        faces = detector.detect(img.rgb)
        boxes.append([f.box for f in faces])
        if not faces:
            raise ReconstructionError(f"{img.path}: no face found. Use a photo where the face is "
                                      "visible, lit and at least ~100 pixels wide.")
        if s.face_index >= len(faces):
            raise ReconstructionError(f"{img.path}: --face-index {s.face_index} asked for, but only "
                                      f"{len(faces)} face(s) found (0 is the largest)")
        face = faces[s.face_index]
        if face.interocular < MIN_INTEROCULAR_PX:
            raise ReconstructionError(
                f"{img.path}: the face is too small ({face.interocular:.0f} px between the eye "
                f"corners, at least {MIN_INTEROCULAR_PX} needed); use a closer or larger photo")
        crops.append(crop_face(img.rgb, face.points, s.crop_size))
        irises.append(iris_array(find_irises(crops[-1].image, crops[-1].landmarks)))
        detected.append(face.points)
        prog("detect", (k + 1) / len(images))
    timings["detect"] = time.perf_counter() - t

    t = time.perf_counter()
    obs = [Observation(c.image, c.landmarks, irises[i]) for i, c in enumerate(crops)]
    fit = fit_coarse(model, obs, FitSettings(quality=s.quality, device=device),
                     progress=lambda stage, frac: prog("fit", frac), albedo_model=albedo_model)
    model = model.cpu()
    timings["fit"] = time.perf_counter() - t

    t = time.perf_counter()
    with torch.no_grad():
        posed = model(shape=fit.shape.expand(len(obs), -1), expression=fit.expression, pose=fit.pose).vertices
        rest = model(shape=fit.shape).vertices
    prior = None
    if albedo_model is not None:   # the fitted model albedo fills the skin the photos do not show
        with torch.no_grad():
            prior = torch.nn.functional.interpolate(albedo_model.cpu()(fit.albedo_code), size=(s.texture_size,) * 2,
                                                    mode="bilinear", align_corners=False)[0].permute(1, 2, 0)
    tex = unwrap_albedo(model, posed, fit.camera, fit.light, [c.image for c in crops], s.texture_size,
                        skin_prior=prior)
    timings["texture"] = time.perf_counter() - t
    prog("texture", 1.0)

    t = time.perf_counter()
    iters = {"fast": 15, "default": 80, "high": 250}[s.quality]   # shape-from-shading steps
    decoder = load_openhead_decoder(n_expression=model.n_expression) if model.name == "openhead" else None
    detail_meta, extra = {}, {}
    if deca is not None:
        code, static = deca_person_detail(model, deca, crops[0].image)
        detail = StaticDetail(static, tangent_normal_map(model, rest, torch.as_tensor(static)[None], s.texture_size))
        detail_meta = {"decoder": "deca", "decoder_path": str(Path(s.deca_path).expanduser().resolve()),
                       "code": code.tolist(), "latent_layout": "cat(jaw 3, FLAME expression 50, code 128)"}
    elif decoder is not None:
        pd = fit_person_detail(model, decoder, rest, posed[:1], fit.light[:1], tex.albedo, tex.observed,
                               fit.expression[:1], fit.pose.jaw[:1], size=s.detail_size,
                               texture_size=s.texture_size, iterations=iters)
        detail = StaticDetail(pd.static, pd.normal_map, pd.loss_start, pd.loss_end)
        detail_meta = {"decoder": "assets/detail/openhead_detail", "code": pd.code.tolist(),
                       "latent_layout": "cat(jaw 3, ARKit expression 52, code 128)",
                       "residual": "detail_residual.png"}
        extra["detail_residual"] = pd.residual
    else:
        detail = fit_static_detail(model, rest, posed[:1], fit.light[:1], tex.albedo, tex.observed,
                                   size=s.detail_size, texture_size=s.texture_size, iterations=iters)
    timings["detail"] = time.perf_counter() - t
    prog("detail", 1.0)

    t = time.perf_counter()
    albedo_srgb = to_uint8(linear_to_srgb(tex.albedo))
    texture_t = torch.as_tensor(tex.albedo).permute(2, 0, 1)[None]
    renders, alphas = [], []
    rr = MeshRenderer(model.faces, model.uv_layout.uv, model.uv_layout.faces)
    for i, c in enumerate(crops):
        with torch.no_grad():
            r = rr.render(posed[i:i + 1], OrthographicCamera(fit.camera[i:i + 1]), (c.size, c.size),
                          light=fit.light[i:i + 1], texture=texture_t)
        renders.append(to_uint8(linear_to_srgb(r.image[0])))
        alphas.append(r.alpha[0, ..., 0].numpy())
    fitted_crop = [fit.landmarks2d[i].numpy() for i in range(len(crops))]
    report = build_report(model, fit.shape, [c.image for c in crops], renders, alphas,
                          [c.landmarks for c in crops], fitted_crop, albedo_srgb, detail.displacement,
                          detail.normal_map, texture_t, fit.light[:1],
                          irises=[(irises[i], fit.irises2d[i].numpy()) for i in range(len(crops))])
    lay = model.uv_layout
    mesh = dict(vertices=rest[0].numpy(), faces=model.faces.numpy(), uv=lay.uv.numpy(),
                uv_faces=lay.faces.numpy(), face_part=model.face_part.numpy(), part_names=model.part_names)
    per_photo = []
    for i, img in enumerate(images):
        per_photo.append({
            "photo": str(img.path), "image_size": [int(img.rgb.shape[1]), int(img.rgb.shape[0])],
            "crop_matrix": crops[i].matrix.tolist(),
            "expression": fit.expression[i].tolist(),
            "pose": {k: getattr(fit.pose, k)[i].tolist() for k in ("global_rot", "neck", "jaw", "eye_left", "eye_right")},
            "camera": fit.camera[i].tolist(), "light": fit.light[i].tolist(),
            "landmarks_detected": detected[i].tolist(),
            "landmarks_fitted": crops[i].to_photo(fitted_crop[i]).tolist(),
            "landmark_error_iod": float(fit.landmark_error[i]),
            # image-left eye first; null where no iris was seen (that eye's pose is then not measured)
            "irises_detected": [crops[i].to_photo(p[None])[0].tolist() if np.isfinite(p).all() else None
                                for p in irises[i]],
            "irises_fitted": crops[i].to_photo(fit.irises2d[i].numpy()).tolist(),
            "faces_found": [list(b) for b in boxes[i]],
        })
    meta = {
        "model": {"name": model.name, "n_shape": model.n_shape, "n_expression": model.n_expression,
                  "expression_names": model.expression_names, "joint_names": model.joint_names,
                  "files": model_file_paths(s)},
        "parameters": {"shape": fit.shape[0].tolist(), "photos": per_photo,
                       "albedo_mean_linear": fit.albedo[0].tolist()},
        "textures": {"albedo": {"file": "albedo.png", "color": "sRGB"},
                     "normal": {"file": "normal.png", "space": "tangent, OpenGL (+Y = +v)"}},
        "provenance": {"headsmith": __version__, "torch": torch.__version__, "python": platform.python_version(),
                       "device": device, "settings": asdict(s),
                       "timings_s": dict(timings)},   # stages before writing the bundle
        "frame": "metres, right-handed, y up, face toward +z (FLAME)",
    }
    if detail_meta:
        meta["detail"] = detail_meta
    if albedo_model is not None:
        meta["albedo_model"] = {"file": albedo_model.path, "kind": albedo_model.kind,
                                "code": fit.albedo_code[0].tolist()}
    write_bundle(Path(out), AvatarBundle(meta, mesh, albedo_srgb, detail.displacement, detail.normal_map, report,
                                         extra_displacements=extra, rig=rig_arrays(model, fit.shape[:1])))
    timings["bundle"] = time.perf_counter() - t
    prog("bundle", 1.0)
    return ReconstructResult(Path(out), boxes, [float(e) for e in fit.landmark_error], timings)
