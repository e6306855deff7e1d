"""Photo(s) -> avatar bundle on disk, in one pass through memory: the reconstruction's stages,
then (when asked) the wrinkle maps baked with the same head model and a decoder built once for
the run, then one atomic write of the whole bundle. The CLI (`reconstruct`, `avatar`), the
service's jobs and the benchmarks all come through `reconstruct`; `rebake_bundle` bakes the
maps of an existing bundle again (`headsmith wrinkles`, the service's bake endpoint).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..bundle import BundleError, WrinkleFiles, read_bundle, read_detail_residual, write_bundle, write_wrinkles
from ..bundle.target import check_bundle_target
from ..bundle.io import decode_displacement, encode_displacement
from ..pictures.face_chart import FacePicture
from ..pictures.wrinkles import wrinkles_picture
from ..wrinkles.decoder import TorchWrinkleDecoder, WrinkleDecoder
from ..wrinkles.maps import bake_wrinkle_maps
from ..wrinkles.sources import openhead_decoder, wrinkle_parts
from .stages import Progress, Reconstruction, bundle_contents, run_reconstruction
from .settings import ReconstructionError, ReconstructSettings


@dataclass
class ReconstructResult:
    out: Path
    faces_found: list[list[tuple[int, int, int, int]]]   # per photo, boxes, largest first
    landmark_error: list[float]                          # per photo, / inter-ocular distance
    timings: dict[str, float] = field(default_factory=dict)
    wrinkle_blend_error: dict | None = None              # when wrinkle maps were baked
    moved_aside: Path | None = None                      # where --force moved a non-bundle folder at `out`
    notes: list[str] = field(default_factory=list)       # how inputs were read (e.g. an animated photo)


def wrinkle_files(model, decoder: WrinkleDecoder, code: np.ndarray, residual: np.ndarray | None,
                  shape: torch.Tensor) -> tuple[WrinkleFiles, dict]:
    """The bundle's wrinkles/ and wrinkles.png for one person, and the measured blend error."""
    maps = bake_wrinkle_maps(model, decoder, code, residual, shape)
    picture = wrinkles_picture(model, decoder, maps.baked, np.asarray(code, np.float32), residual,
                               FacePicture(model, decoder.size))
    return WrinkleFiles(maps.normal_maps, maps.masks, maps.sidecar, picture, maps.packed), maps.blend_error


def run_wrinkle_decoder(r: Reconstruction) -> WrinkleDecoder | None:
    """The decoder that bakes this run's wrinkles: DECA's, from the networks the run already
    loaded, or OpenHead's shipped ONNX one; None for a head without a detail decoder."""
    if r.detail.code is None:
        return None
    if r.inputs.deca is not None:
        return TorchWrinkleDecoder(r.inputs.deca.D_detail, r.inputs.model.n_expression)
    return openhead_decoder(r.inputs.model.n_expression)


def stored_residual(residual: np.ndarray | None, scale_m: float) -> np.ndarray | None:
    """The residual as the bundle stores it (16-bit), so a bake made now agrees with later live
    decodes and re-bakes, which read it back from the bundle."""
    if residual is None:
        return None
    return decode_displacement(encode_displacement(residual, scale_m), scale_m).astype(np.float32)


def reconstruct(photos: list[str | Path], out: str | Path, settings: ReconstructSettings | None = None,
                progress: Progress | None = None, wrinkles: bool = False, force: bool = False) -> ReconstructResult:
    """Photos of one person -> the bundle at `out` (replaced atomically; `out` is checked first:
    see bundle.target). With `wrinkles`, the wrinkle maps are baked in the same run and written
    with it."""
    s = settings or ReconstructSettings()
    prog = progress or (lambda stage, frac: None)
    try:
        aside = check_bundle_target(out, force)
    except BundleError as e:
        raise ReconstructionError(str(e)) from e
    r = run_reconstruction(photos, s, prog)
    blend_error = None
    t = time.perf_counter()
    contents = bundle_contents(r)
    decoder = run_wrinkle_decoder(r) if wrinkles else None
    if decoder is not None:
        t_w = time.perf_counter()
        residual = stored_residual(r.detail.residual, contents.displacement_scale)
        contents.wrinkles, blend_error = wrinkle_files(r.inputs.model, decoder, r.detail.code, residual,
                                                       r.fit.shape[:1])
        r.timings["wrinkles"] = time.perf_counter() - t_w
        prog("wrinkles", 1.0)
    write_bundle(Path(out), contents)
    r.timings["bundle"] = time.perf_counter() - t - r.timings.get("wrinkles", 0.0)
    prog("bundle", 1.0)
    return ReconstructResult(Path(out), r.faces.boxes, [float(e) for e in r.fit.landmark_error], r.timings,
                             blend_error, aside, [img.note for img in r.inputs.images if img.note] + r.faces.notes)


def rebake_bundle(folder: Path, cache: dict | None = None, meta: dict | None = None) -> dict | None:
    """Bake an existing bundle's wrinkle maps again with the model and decoder it was made with
    (wrinkles.sources; `cache` keeps them across calls) and swap them in. -> the blend error, or
    None when the bundle has no detail code (a FLAME head made without DECA's checkpoint)."""
    folder = Path(folder)
    meta = meta if meta is not None else read_bundle(folder)
    if "detail" not in meta:
        return None
    model, decoder = wrinkle_parts(meta, cache)
    files, err = wrinkle_files(model, decoder, np.asarray(meta["detail"]["code"], np.float32),
                               read_detail_residual(folder, meta), torch.tensor([meta["parameters"]["shape"]]))
    write_wrinkles(folder, files)
    return err


__all__ = ["ReconstructResult", "reconstruct", "rebake_bundle"]
