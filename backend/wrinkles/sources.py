"""The head model and wrinkle decoder that belong to an avatar bundle.

OpenHead bundles use the shipped ONNX decoder (assets/detail). FLAME bundles use the user's own
files, whose paths the bundle records (they never ship and are never copied): FLAME's
`generic_model.pkl` with DECA's landmark/UV/mask files, and DECA's `deca_model.tar` for wrinkles.
One place decides this for the CLI, the service, the job runner and the headless avatar.
"""
from __future__ import annotations

from pathlib import Path

from ..headmodel import HeadModel, ModelFileError, load_head_model
from .decoder import OnnxWrinkleDecoder, TorchWrinkleDecoder, WrinkleDecoder


class DecoderUnavailable(RuntimeError):
    """The bundle's decoder (or model) files are missing; str(e) says what to do."""


def model_files(meta: dict) -> dict:
    """The user's FLAME/DECA file paths recorded in a bundle (empty for OpenHead)."""
    return dict(meta.get("model", {}).get("files", {}))


def bundle_model(meta: dict) -> HeadModel:
    """The head model a bundle was made with (headmodel.load_head_model, with the recorded files)."""
    name = meta.get("model", {}).get("name")
    if name == "flame" and not model_files(meta).get("flame_path"):
        raise DecoderUnavailable("this FLAME bundle does not record where its generic_model.pkl is")
    try:
        return load_head_model(name, model_files(meta))
    except ModelFileError as e:
        if name == "flame":
            raise DecoderUnavailable(f"the bundle's FLAME files cannot be loaded: {e}") from e
        raise DecoderUnavailable(str(e)) from e


def load_deca_decoder(path: str | Path, n_expression: int) -> TorchWrinkleDecoder:
    """DECA's D_detail from the user's deca_model.tar (torch; DECA's layout has no ONNX export here)."""
    from .deca_checkpoint import CheckpointError, load_deca_checkpoint

    try:
        nets = load_deca_checkpoint(path)
    except CheckpointError as e:
        raise DecoderUnavailable(str(e)) from e
    return TorchWrinkleDecoder(nets.D_detail, n_expression)


def bundle_decoder(meta: dict, model: HeadModel) -> WrinkleDecoder:
    detail = meta.get("detail")
    if detail is None:
        raise DecoderUnavailable("the bundle has no detail code (it was reconstructed without a detail "
                                 "decoder; for FLAME give DECA's deca_model.tar)")
    if detail.get("decoder") == "deca":
        return load_deca_decoder(detail["decoder_path"], model.n_expression)
    return openhead_decoder(model.n_expression)


def openhead_decoder(n_expression: int) -> OnnxWrinkleDecoder:
    """OpenHead's shipped decoder through onnxruntime: what bakes and live decoding run."""
    from .texture_decoder import OPENHEAD_DECODER_ONNX
    if not OPENHEAD_DECODER_ONNX.is_file():
        raise DecoderUnavailable("the OpenHead detail decoder is missing from assets/detail/; train it with "
                                 "headsmith-train detail --export assets/detail")
    decoder = OnnxWrinkleDecoder(OPENHEAD_DECODER_ONNX, n_expression)
    decoder.rest_is_pores = True      # its map at rest is pore strength x its pore texture
    return decoder


def wrinkle_parts(meta: dict, cache: dict | None = None) -> tuple[HeadModel, WrinkleDecoder]:
    """(model, decoder) for a bundle's metadata; `cache` (any dict) keeps them across bundles that
    share them (one OpenHead pair, one pair per set of FLAME/DECA files)."""
    key = (meta.get("model", {}).get("name"), tuple(sorted(model_files(meta).items())),
           meta.get("detail", {}).get("decoder_path"))
    if cache is not None and key in cache:
        return cache[key]
    model = bundle_model(meta)
    parts = (model, bundle_decoder(meta, model))
    if cache is not None:
        cache[key] = parts
    return parts
