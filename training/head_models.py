"""The encoders' head model, as the command line chooses it: OpenHead (shipped) or the user's own
FLAME files with DECA's networks to start from."""
from __future__ import annotations

from pathlib import Path

from .face_folders import DataError


def add_head_arguments(d) -> None:
    d.add_argument("--head", choices=("openhead", "flame"), default="openhead",
                   help="the head model: OpenHead (shipped) or your FLAME (--flame, --flame-mediapipe)")
    d.add_argument("--flame", type=Path, help="FLAME's generic_model.pkl (your licensed copy)")
    d.add_argument("--flame-mediapipe", type=Path, help="FLAME's mediapipe_landmark_embedding.npz (FLAME/MICA release)")
    d.add_argument("--flame-uv", type=Path, help="FLAME's head_template.obj (its UV layout; the detail encoder needs it)")
    d.add_argument("--deca", type=Path, help="your deca_model.tar: start from DECA's E_flame / E_detail (FLAME only)")


def head_model(a):
    """The model the options ask for (None: OpenHead); DataError naming what is missing for FLAME."""
    from headsmith.headmodel import ModelFileError, load_head_model

    if a.head == "openhead":
        return None
    if a.flame is None or a.flame_mediapipe is None:
        raise DataError("--head flame needs --flame (generic_model.pkl) and --flame-mediapipe "
                        "(mediapipe_landmark_embedding.npz): the encoders learn from MediaPipe's points")
    files = {"flame_path": a.flame, "flame_mediapipe": a.flame_mediapipe}
    if a.flame_uv is not None:
        files["flame_uv"] = a.flame_uv
    try:
        return load_head_model("flame", files)
    except ModelFileError as e:
        raise DataError(str(e)) from e
