"""The one factory of head models: a model name and the user's file paths -> a HeadModel.

Used by the reconstruction (from its settings) and by everything that reopens a bundle (from the
paths the bundle records). FLAME's files are the user's licensed copies; they are never shipped.
"""
from __future__ import annotations

from .base import HeadModel
from .openhead import ModelFileError
from .safe_pickle import UnsafePickleError

MODELS = ("openhead", "flame")
# The user's FLAME files, by the settings' names: generic_model.pkl and DECA's landmark, UV and
# mask files. A bundle records the same keys (absolute paths) so that later stages reload them.
FLAME_FILE_KEYS = ("flame_path", "flame_landmarks", "flame_uv", "flame_masks", "flame_mediapipe")


def load_head_model(name: str, files: dict | None = None) -> HeadModel:
    """name: 'openhead' or 'flame'; files: FLAME_FILE_KEYS -> path (FLAME only). Raises
    ModelFileError with a message that names what is missing or broken."""
    files = files or {}
    if name == "openhead":
        from .openhead import OpenHead
        return OpenHead()
    if name == "flame":
        from .flame import FLAME
        if not files.get("flame_path"):
            raise ModelFileError("a FLAME head needs its generic_model.pkl (your licensed copy)")
        try:
            return FLAME(files["flame_path"], files.get("flame_landmarks"), files.get("flame_uv"),
                         files.get("flame_masks"), mediapipe_path=files.get("flame_mediapipe"))
        except (FileNotFoundError, UnsafePickleError) as e:   # a refused pickle: no code ran
            raise ModelFileError(f"{e} (the file was refused; nothing in it was run)"
                                 if isinstance(e, UnsafePickleError) else str(e)) from e
    raise ModelFileError(f"unknown head model {name!r}: use one of {', '.join(MODELS)}")
