"""Live wrinkles: open an avatar (a finished job or a bundle folder on this machine), decode its
normal map or displacement at any expression (the fast path the Blender add-on calls when
sliders move), and bake its wrinkle maps again."""
from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from ..contract import errors
from .jobs import finished_job, job_manager

LIVE_SIZES = (256, 512, 1024)
MAX_OPEN_AVATARS = 4

router = APIRouter()


class OpenAvatar(BaseModel):
    """Exactly one of: a finished job's id, or a bundle folder on this machine."""
    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1, "maxProperties": 1})
    job: str | SkipJsonSchema[None] = None
    bundle: str | SkipJsonSchema[None] = None


Weight = Annotated[float, Field(ge=-4.0, le=4.0)]      # ARKit weights 0..1; FLAME components in std devs
Angle = Annotated[float, Field(gt=-3.2, lt=3.2)]       # radians


class DecodeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    expression: dict[str, Weight] = Field(default_factory=dict, description="shape key name -> weight")
    jaw: list[Angle] = Field(default_factory=lambda: [0.0, 0.0, 0.0], min_length=3, max_length=3,
                             description="jaw axis-angle, radians")
    size: Literal[LIVE_SIZES] = Field(1024, description="normal map size")
    output: Literal["normal", "normal_rgba", "displacement"] = Field(
        "normal", description="normal (uint8 RGB), normal_rgba (uint8 RGBA, alpha 255: what image APIs such as "
                              "Blender's take without a per-channel copy) or displacement (float32 metres)")


def open_avatars(request: Request) -> dict:
    """id -> {folder, meta, live: size -> LiveWrinkles (made on first use)}; the oldest is closed
    when MAX_OPEN_AVATARS are open."""
    return request.app.state.avatars


def live_parts(request: Request, meta: dict):
    """The bundle's head model and wrinkle decoder (OpenHead's ONNX one, or the user's DECA
    checkpoint for FLAME), loaded once per kind and shared with the job runner. A missing
    shipped decoder is the server's problem (503); missing user files are the request's (422)."""
    from ...wrinkles.sources import DecoderUnavailable, wrinkle_parts

    try:
        return wrinkle_parts(meta, job_manager(request).parts)
    except DecoderUnavailable as e:
        raise HTTPException(503 if meta.get("model", {}).get("name") == "openhead" else 422, str(e))


def find_avatar(request: Request, aid: str) -> dict:
    entry = open_avatars(request).get(aid)
    if entry is None:
        raise HTTPException(404, f"no open avatar {aid}; open it with POST /avatars")
    return entry


def _bundle_folder(request: Request, req: OpenAvatar) -> Path:
    if (req.job is None) == (req.bundle is None):
        raise HTTPException(422, "give either 'job' (a finished job id) or 'bundle' (a bundle folder)")
    if req.job is None:
        try:
            return Path(req.bundle).expanduser()
        except RuntimeError as e:   # '~someone' for a user that does not exist
            raise HTTPException(422, f"bundle {req.bundle!r}: {e}")
    return finished_job(req.job, job_manager(request), "reconstruct").output


@router.post("/avatars", status_code=201, responses=errors(404, 409, 503))
def open_avatar(request: Request, req: OpenAvatar):
    from ...bundle import read_bundle

    folder = _bundle_folder(request, req)
    try:
        meta = read_bundle(folder)
    except (OSError, ValueError) as e:
        raise HTTPException(422, f"{folder}: not a readable avatar bundle ({e})")
    if "detail" not in meta:
        raise HTTPException(422, f"{folder} has no detail code (reconstructed without a detail decoder; "
                                 "for FLAME heads give DECA's deca_model.tar)")
    model, _ = live_parts(request, meta)
    avatars = open_avatars(request)
    aid = secrets.token_hex(6)
    while len(avatars) >= MAX_OPEN_AVATARS:
        avatars.pop(next(iter(avatars)))
    avatars[aid] = {"folder": folder, "meta": meta, "live": {}}
    return {"id": aid, "bundle": str(folder), "expression_names": model.expression_names,
            "sizes": list(LIVE_SIZES)}


@router.post("/avatars/{aid}/decode",
             responses={**errors(404, 503),
                        200: {"content": {"application/octet-stream": {}},
                              "description": "raw pixels, row 0 at v = 1; see the X-Shape and X-Dtype headers"}})
def decode(request: Request, aid: str, req: DecodeRequest):
    entry = find_avatar(request, aid)
    live = entry["live"]
    if req.size not in live:
        from ...wrinkles.live import LiveWrinkles
        model, decoder = live_parts(request, entry["meta"])
        try:
            live[req.size] = LiveWrinkles(entry["folder"], model, decoder, req.size)
        except (OSError, ValueError) as e:   # the bundle changed or lost a file since it was opened
            raise HTTPException(422, f"{entry['folder']}: {e}")
    lw = live[req.size]
    try:
        e = lw.expression_vector(req.expression)
    except KeyError as err:
        raise HTTPException(422, str(err.args[0]))
    jaw = np.asarray(req.jaw, np.float32)
    if req.output == "displacement":
        arr, dtype = lw.displacement(e, jaw).astype("<f4"), "float32"
    else:
        arr, dtype = lw.normal_rgb(e, jaw, alpha=req.output == "normal_rgba"), "uint8"
    return Response(arr.tobytes(), media_type="application/octet-stream",
                    headers={"X-Shape": ",".join(map(str, arr.shape)), "X-Dtype": dtype})


@router.post("/avatars/{aid}/bake", responses=errors(404, 503))
def bake(request: Request, aid: str):
    """Bake (or re-bake) the avatar's wrinkle maps into its bundle; returns the sidecar JSON."""
    from ...pipeline import rebake_bundle

    entry = find_avatar(request, aid)
    live_parts(request, entry["meta"])
    try:
        rebake_bundle(entry["folder"], job_manager(request).parts, entry["meta"])
    except (OSError, ValueError) as e:
        raise HTTPException(422, f"{entry['folder']}: {e}")
    return json.loads((entry["folder"] / "wrinkles" / "wrinkles.json").read_text())
