"""The encoders' command-line options: the photo folder, config and run folder, and the head model
(OpenHead, shipped, or the user's own FLAME files with DECA's networks to start from)."""
from __future__ import annotations

from pathlib import Path

from .face_folders import DataError


def add_encoder_arguments(d, config: str, run: str) -> None:
    """The options both encoder commands take; config: the default config's file name under
    training/configs; run: the default run folder."""
    d.add_argument("--data", type=Path, required=True, help="a folder of people: ROOT/PERSON/*.jpg (VGGFace2's layout)")
    d.add_argument("--config", type=Path, default=Path(__file__).parent / "configs" / config,
                   help="the training config (JSON: sizes, batch, steps, loss weights, seed)")
    # --run-dir: under torchrun, whose own parser takes "--run" for its "--run-path"
    d.add_argument("--run", "--run-dir", dest="run", type=Path, default=Path(run),
                   help="the run folder: landmark cache, checkpoints, history, TensorBoard log")
    d.add_argument("--resume", action="store_true", help="continue from RUN/checkpoint.pt")
    d.add_argument("--stop-at", type=int, help="leave after this step with a checkpoint (--resume continues)")
    d.add_argument("--export", type=Path, help="write the encoder (ONNX, state dict, record) here")
    add_head_arguments(d)


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
