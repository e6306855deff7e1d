"""Live wrinkles: open an avatar (a finished job or a bundle folder on this machine), decode its
normal map or displacement at any expression (the fast path the Blender add-on calls when
sliders move), and bake its wrinkle maps again."""
from __future__ import annotations

import json
import secrets
from pathlib import Path

import numpy as np
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from .jobs import find_job, job_manager

LIVE_SIZES = (256, 512, 1024)
MAX_OPEN_AVATARS = 4

router = APIRouter()


class OpenAvatar(BaseModel):
    """Either a finished job's id or a bundle folder on this machine."""
    job: str | None = None
    bundle: str | None = None


class DecodeRequest(BaseModel):
    expression: dict[str, float] = Field(default_factory=dict, description="shape key name -> weight")
    jaw: list[float] = Field(default_factory=lambda: [0.0, 0.0, 0.0], description="jaw axis-angle, radians")
    size: int = Field(1024, description="normal map size: 256, 512 or 1024")
    output: str = Field("normal", description="normal (uint8 RGB) or displacement (float32 metres)")


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
        return Path(req.bundle).expanduser()
    job = find_job(req.job, job_manager(request))
    if job.state != "done":
        raise HTTPException(409, f"job {req.job} is {job.state}")
    return job.bundle


@router.post("/avatars", status_code=201)
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


def _check_decode(req: DecodeRequest) -> None:
    if req.size not in LIVE_SIZES:
        raise HTTPException(422, f"size must be one of {LIVE_SIZES}")
    if req.output not in ("normal", "displacement"):
        raise HTTPException(422, "output must be normal or displacement")
    if len(req.jaw) != 3 or not all(abs(x) < 3.2 for x in req.jaw):
        raise HTTPException(422, "jaw must be 3 axis-angle numbers in radians (|x| < 3.2)")
    if not all(-4.0 <= w <= 4.0 for w in req.expression.values()):
        raise HTTPException(422, "expression weights must lie in [-4, 4] (ARKit weights 0..1, FLAME "
                                 "components in standard deviations)")


@router.post("/avatars/{aid}/decode",
             responses={200: {"content": {"application/octet-stream": {}},
                              "description": "raw pixels, row 0 at v = 1; see the X-Shape and X-Dtype headers"}})
def decode(request: Request, aid: str, req: DecodeRequest):
    entry = find_avatar(request, aid)
    _check_decode(req)
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
        arr, dtype = lw.normal_rgb(e, jaw), "uint8"
    return Response(arr.tobytes(), media_type="application/octet-stream",
                    headers={"X-Shape": ",".join(map(str, arr.shape)), "X-Dtype": dtype})


@router.post("/avatars/{aid}/bake")
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
