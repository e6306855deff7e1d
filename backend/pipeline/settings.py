"""What a reconstruction may be asked to do, and the one place that checks it.

The CLI, the service and `headsmith avatar` all build a ReconstructSettings and call
`check_settings`; the choices below are the only lists of allowed values (the CLI's argparse
choices and the service's errors come from them).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ..fit.coarse import QUALITY
from ..headmodel import FLAME_FILE_KEYS, MODELS


class ReconstructionError(RuntimeError):
    """A problem with the input or settings; str(e) tells the user what to do."""


QUALITIES = tuple(QUALITY)                  # fast, default, high: the fit's schedules
LANDMARKS = ("mediapipe", "dlib", "fan")   # mediapipe: 478 dense points; dlib, fan: iBUG-68
FACE_DETECTORS = ("hog", "cnn")             # dlib's hog (fast) or cnn (finds harder faces)
DEVICES = ("auto", "cpu", "cuda")
# the fit's starting point: learned (fit/learned_init.py: OpenHead with MediaPipe's points only),
# search (a yaw search over the mean head), auto (learned where it applies)
INITS = ("auto", "learned", "search")
MESH_WEIGHTS = ("auto", "openhead", "google")     # MediaPipe's mesh: tuned to OpenHead's points, or Google's
# albedo and normal-map texels per side when ReconstructSettings.texture_size is not given:
# fast is a preview (its stages fit in ~1.5 s, benchmarks/NOTES.md)
TEXTURE_SIZES = {"fast": 512, "default": 1024, "high": 1024}
# a face at least this many photo pixels across (detect.face_span) gets HIGH_RES_TEXTURE texels at
# default and high quality, cropped at half that so the photo's own pixels reach the texture
HIGH_RES_FACE_PX, HIGH_RES_TEXTURE = 700, 2048
# The user's own files a FLAME reconstruction reads: setting -> (what it is, CLI flag, required)
USER_FILES = {
    "flame_path": ("your FLAME generic_model.pkl", "--flame", True),
    "flame_landmarks": ("DECA's landmark_embedding.npy", "--flame-landmarks", True),
    "flame_uv": ("DECA's head_template.obj", "--flame-uv", True),
    "flame_masks": ("DECA's FLAME_masks.pkl", "--flame-masks", False),
    "flame_mediapipe": ("FLAME's mediapipe_landmark_embedding.npz", "--flame-mediapipe", False),
    "flame_albedo": ("a FLAME albedo model (.npz)", "--flame-albedo", False),
    "deca_path": ("DECA's deca_model.tar", "--deca", False),
}


@dataclass
class ReconstructSettings:
    model: str = "openhead"                 # one of MODELS
    flame_path: str | None = None
    flame_landmarks: str | None = None
    flame_uv: str | None = None
    flame_masks: str | None = None
    flame_mediapipe: str | None = None      # FLAME's mediapipe_landmark_embedding.npz: dense landmarks
    flame_albedo: str | None = None         # FLAME_albedo_from_BFM.npz / FLAME_texture.npz (optional)
    deca_path: str | None = None            # DECA's deca_model.tar: wrinkles for FLAME heads
    landmarks: str = "mediapipe"            # one of LANDMARKS
    face_detector: str = "hog"              # one of FACE_DETECTORS
    quality: str = "default"                # one of QUALITIES
    device: str = "auto"                    # one of DEVICES
    face_index: int = 0
    allow_different_people: bool = False    # fit photos whose faces dlib tells apart as one identity
    crop_size: int = 512                    # the face crop's side (pixels), at least
    texture_size: int | None = None         # None: by quality and the face's size (texture_px)
    detail_size: int = 256
    init: str = "auto"                      # one of INITS
    mesh_weights: str = "auto"              # one of MESH_WEIGHTS

    def mesh_choice(self) -> str:
        """MediaPipe's mesh weights: as chosen, or (auto) the ones tuned to OpenHead's points for
        OpenHead and Google's for FLAME (the user's embedding file places Google's points)."""
        if self.mesh_weights != "auto":
            return self.mesh_weights
        return "openhead" if self.model == "openhead" else "google"

    def fit_init(self, point_set: str) -> str:
        """The fit's start for the detected point set: "learned" or "search"."""
        if self.init != "auto":
            return self.init
        return "learned" if self.model == "openhead" and point_set == "mediapipe478" else "search"

    def texture_choice(self, face_px: float = 0.0) -> tuple[int, str]:
        """(albedo and normal-map texels per side, why) for a face `face_px` photo pixels across
        (the largest of the photos')."""
        if self.texture_size:
            return self.texture_size, "texture_size was given"
        if self.quality == "fast":
            return TEXTURE_SIZES["fast"], f"fast quality makes {TEXTURE_SIZES['fast']} texels"
        rule = (f"{HIGH_RES_TEXTURE} texels when the face is at least {HIGH_RES_FACE_PX} px across, "
                f"else {TEXTURE_SIZES[self.quality]}")
        return (HIGH_RES_TEXTURE if face_px >= HIGH_RES_FACE_PX else TEXTURE_SIZES[self.quality]), rule

    def texture_px(self, face_px: float = 0.0) -> int:
        return self.texture_choice(face_px)[0]

    def crop_px(self, face_px: float = 0.0) -> int:
        """The face crop's side: crop_size, or half the texture's side when that is larger."""
        return max(self.crop_size, self.texture_px(face_px) // 2)


def _one_of(name: str, value, allowed: tuple) -> None:
    if value not in allowed:
        raise ReconstructionError(f"{name} must be {', '.join(allowed[:-1])} or {allowed[-1]}, not {value!r}")


def check_settings(s: ReconstructSettings, files_must_exist: bool = False) -> None:
    """Every choice and the FLAME/DECA file set; with files_must_exist, each given file is checked
    to be a file on this machine (the service does so before it queues a job)."""
    _one_of("quality", s.quality, QUALITIES)
    _one_of("landmarks", s.landmarks, LANDMARKS)
    _one_of("face_detector", s.face_detector, FACE_DETECTORS)
    _one_of("device", s.device, DEVICES)
    _one_of("model", s.model, MODELS)
    _one_of("init", s.init, INITS)
    _one_of("mesh_weights", s.mesh_weights, MESH_WEIGHTS)
    if s.init == "learned" and (s.model != "openhead" or s.landmarks != "mediapipe"):
        raise ReconstructionError("--init learned reads MediaPipe's points on OpenHead heads; with "
                                  f"--model {s.model} --landmarks {s.landmarks} use --init search (or auto)")
    if s.face_index < 0:
        raise ReconstructionError("face_index (--face-index) must be 0 or more")
    if s.model != "flame":
        if s.deca_path:
            raise ReconstructionError("deca_path (--deca) is DECA's checkpoint for FLAME heads; use it with "
                                      "--model flame (OpenHead has its own shipped decoder)")
        if s.flame_albedo:
            raise ReconstructionError("flame_albedo (--flame-albedo) is an albedo model in FLAME's UV layout; "
                                      "use it with --model flame")
        return
    for key, (what, flag, required) in USER_FILES.items():
        value = getattr(s, key)
        if not value and not required:
            continue
        try:
            Path(value or ".").expanduser()
        except RuntimeError as e:   # '~someone' for a user that does not exist
            raise ReconstructionError(f"{key} ({flag}): {value!r}: {e}") from e
        if not value or (files_must_exist and not Path(value).expanduser().is_file()):
            raise ReconstructionError(
                f"model flame {'needs' if required else 'was given'} {key} ({flag}): the path of {what} on "
                f"this machine ({value or 'not given'}{' is not a file' if value else ''})")


def resolve_device(name: str) -> str:
    """'auto' -> cuda when torch sees one, else cpu; 'cuda' without a device is the user's error."""
    _one_of("device", name, DEVICES)
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ReconstructionError("--device cuda was asked for, but torch sees no CUDA device; "
                                  "use --device cpu or auto")
    return name


def model_files(s: ReconstructSettings) -> dict:
    """The user's FLAME files as absolute paths (empty for OpenHead): what the bundle records so
    that later stages (wrinkles, live decode) reload the same model."""
    if s.model != "flame":
        return {}
    return {k: str(Path(getattr(s, k)).expanduser().resolve()) for k in FLAME_FILE_KEYS if getattr(s, k)}
