"""FastAPI app: health, reconstruction jobs (upload photos -> job id -> progress -> bundle zip),
cancel, and live wrinkles (open an avatar, then decode its normal map at any expression: the fast
path the Blender add-on calls when sliders move; bake its wrinkle maps). Every request needs the
per-launch token (header `Authorization: Bearer TOKEN`). Bad input gets a 4xx JSON error with a
message; a full queue gets 503 with Retry-After."""
from __future__ import annotations

import io
import secrets
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from fastapi import Depends, FastAPI, File, Form, Header, HTTPException, Request, UploadFile
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field

from .. import __version__
from .jobs import JobManager, QueueFull

MAX_UPLOAD_BYTES = 32 * 1024 * 1024
MAX_PHOTOS = 8
LIVE_SIZES = (256, 512, 1024)
MAX_OPEN_AVATARS = 4


class OpenAvatar(BaseModel):
    """Either a finished job's id or a bundle folder on this machine."""
    job: str | None = None
    bundle: str | None = None


class DecodeRequest(BaseModel):
    expression: dict[str, float] = Field(default_factory=dict, description="shape key name -> weight")
    jaw: list[float] = Field(default_factory=lambda: [0.0, 0.0, 0.0], description="jaw axis-angle, radians")
    size: int = Field(1024, description="normal map size: 256, 512 or 1024")
    output: str = Field("normal", description="normal (uint8 RGB) or displacement (float32 metres)")


@dataclass
class ServiceSettings:
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    max_pending: int = 4
    jobs_root: Path | None = None
    max_upload_bytes: int = MAX_UPLOAD_BYTES


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    s = settings or ServiceSettings()
    jobs = JobManager(s.jobs_root, max_pending=s.max_pending)
    app = FastAPI(title="Headsmith", version=__version__,
                  description="Local photo-to-avatar reconstruction service (loopback, token required).")
    app.state.jobs = jobs
    app.state.settings = s

    def auth(authorization: str | None = Header(default=None)):
        expected = f"Bearer {s.token}"
        if authorization is None or not secrets.compare_digest(authorization.encode(), expected.encode()):
            raise HTTPException(status_code=401, detail="missing or wrong token: send 'Authorization: Bearer "
                                                        "<token>' with the token from the service's token file")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.on_event("shutdown")
    def _shutdown():
        jobs.shutdown()

    @app.get("/health", dependencies=[Depends(auth)])
    def health():
        return {"status": "ok", "version": __version__,
                "device": "cuda" if torch.cuda.is_available() else "cpu"}

    @app.post("/reconstruct", status_code=202, dependencies=[Depends(auth)])
    async def submit(photos: list[UploadFile] = File(...), quality: str = Form("default"),
                     landmarks: str = Form("dlib"), face_index: int = Form(0), model: str = Form("openhead"),
                     flame_path: str | None = Form(None), flame_landmarks: str | None = Form(None),
                     flame_uv: str | None = Form(None), flame_masks: str | None = Form(None),
                     flame_albedo: str | None = Form(None), deca_path: str | None = Form(None)):
        """FLAME: the paths are files on this machine (your licensed copies; never uploaded).
        flame_masks (DECA's FLAME_masks.pkl), flame_albedo (an albedo model .npz) and deca_path
        (deca_model.tar, for wrinkles) are optional."""
        from ..imageio import ImageLoadError, load_photo

        if not 1 <= len(photos) <= MAX_PHOTOS:
            raise HTTPException(422, f"send 1 to {MAX_PHOTOS} photos")
        if quality not in ("fast", "default", "high"):
            raise HTTPException(422, "quality must be fast, default or high")
        if landmarks not in ("dlib", "fan"):
            raise HTTPException(422, "landmarks must be dlib or fan")
        if face_index < 0:
            raise HTTPException(422, "face_index must be 0 or more")
        if model not in ("openhead", "flame"):
            raise HTTPException(422, "model must be openhead or flame")
        flame = {}
        if model == "flame":
            for key, value, what, required in (
                    ("flame_path", flame_path, "your FLAME generic_model.pkl", True),
                    ("flame_landmarks", flame_landmarks, "DECA's landmark_embedding.npy", True),
                    ("flame_uv", flame_uv, "DECA's head_template.obj", True),
                    ("flame_masks", flame_masks, "DECA's FLAME_masks.pkl", False),
                    ("flame_albedo", flame_albedo, "a FLAME albedo model (.npz)", False),
                    ("deca_path", deca_path, "DECA's deca_model.tar", False)):
                if not value and not required:
                    continue
                if not value or not Path(value).expanduser().is_file():
                    raise HTTPException(422, f"model flame {'needs' if required else 'was given'} {key}: the path "
                                             f"of {what} on this machine ({value or 'not given'} is not a file)")
                flame[key] = str(Path(value).expanduser())
        elif deca_path:
            raise HTTPException(422, "deca_path is DECA's checkpoint for FLAME heads; OpenHead has its own decoder")
        elif flame_albedo:
            raise HTTPException(422, "flame_albedo is an albedo model in FLAME's UV layout; use it with model flame")
        data = []
        for up in photos:
            blob = await up.read(s.max_upload_bytes + 1)
            if len(blob) > s.max_upload_bytes:
                raise HTTPException(413, f"{up.filename}: over the {s.max_upload_bytes // (1024 * 1024)} MB upload limit")
            data.append((up.filename or "photo", blob))
        # check each photo now, so a bad file is a 4xx, not a failed job
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            for name, blob in data:
                p = Path(tmp) / ("check" + (Path(name).suffix.lower()[:8] or ".img"))
                p.write_bytes(blob)
                try:
                    load_photo(p)
                except ImageLoadError as e:
                    raise HTTPException(422, f"{name}: {str(e).split(': ', 1)[-1]}")
        try:
            job = jobs.submit(data, {"quality": quality, "landmarks": landmarks, "face_index": face_index,
                                     "model": model, **flame})
        except QueueFull as e:
            raise HTTPException(503, f"busy: {e}; retry later", headers={"Retry-After": "10"})
        return job.public()

    def _job(jid: str):
        job = jobs.get(jid)
        if job is None:
            raise HTTPException(404, f"no job {jid}")
        return job

    @app.get("/jobs/{jid}", dependencies=[Depends(auth)])
    def status(jid: str):
        return _job(jid).public()

    @app.delete("/jobs/{jid}", dependencies=[Depends(auth)])
    def cancel(jid: str):
        _job(jid)
        return jobs.cancel(jid).public()

    @app.get("/jobs/{jid}/bundle", dependencies=[Depends(auth)])
    def bundle(jid: str):
        job = _job(jid)
        if job.state != "done":
            raise HTTPException(409, f"job {jid} is {job.state}" + (f": {job.error}" if job.error else ""))
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for f in sorted(job.bundle.rglob("*")):
                if f.is_file():
                    z.write(f, f.relative_to(job.bundle))
        buf.seek(0)
        return StreamingResponse(buf, media_type="application/zip",
                                 headers={"Content-Disposition": f'attachment; filename="{jid}.zip"'})

    avatars: dict = {}

    def _live_parts(meta: dict):
        """The bundle's head model and wrinkle decoder (OpenHead's ONNX one, or the user's DECA
        checkpoint for FLAME), loaded once per kind and shared with the job runner. A missing
        shipped decoder is the server's problem (503); missing user files are the request's (422)."""
        from ..detail.sources import DecoderUnavailable, wrinkle_parts

        try:
            return wrinkle_parts(meta, jobs.parts)
        except DecoderUnavailable as e:
            raise HTTPException(503 if meta.get("model", {}).get("name") == "openhead" else 422, str(e))

    def _avatar(aid: str):
        entry = avatars.get(aid)
        if entry is None:
            raise HTTPException(404, f"no open avatar {aid}; open it with POST /avatars")
        return entry

    @app.post("/avatars", status_code=201, dependencies=[Depends(auth)])
    def open_avatar(req: OpenAvatar):
        from ..bundle.write import read_bundle

        if (req.job is None) == (req.bundle is None):
            raise HTTPException(422, "give either 'job' (a finished job id) or 'bundle' (a bundle folder)")
        if req.job is not None:
            job = _job(req.job)
            if job.state != "done":
                raise HTTPException(409, f"job {req.job} is {job.state}")
            folder = job.bundle
        else:
            folder = Path(req.bundle).expanduser()
        try:
            meta = read_bundle(folder)
        except (OSError, ValueError) as e:
            raise HTTPException(422, f"{folder}: not a readable avatar bundle ({e})")
        if "detail" not in meta:
            raise HTTPException(422, f"{folder} has no detail code (reconstructed without a detail decoder; "
                                     "for FLAME heads give DECA's deca_model.tar)")
        model, _ = _live_parts(meta)
        aid = secrets.token_hex(6)
        while len(avatars) >= MAX_OPEN_AVATARS:
            avatars.pop(next(iter(avatars)))
        avatars[aid] = {"folder": folder, "meta": meta, "live": {}}   # size -> LiveWrinkles, made on first use
        return {"id": aid, "bundle": str(folder), "expression_names": model.expression_names,
                "sizes": list(LIVE_SIZES)}

    @app.post("/avatars/{aid}/decode", dependencies=[Depends(auth)],
              responses={200: {"content": {"application/octet-stream": {}},
                               "description": "raw pixels, row 0 at v = 1; see the X-Shape and X-Dtype headers"}})
    def decode(aid: str, req: DecodeRequest):
        entry = _avatar(aid)
        if req.size not in LIVE_SIZES:
            raise HTTPException(422, f"size must be one of {LIVE_SIZES}")
        if req.output not in ("normal", "displacement"):
            raise HTTPException(422, "output must be normal or displacement")
        if len(req.jaw) != 3 or not all(abs(x) < 3.2 for x in req.jaw):
            raise HTTPException(422, "jaw must be 3 axis-angle numbers in radians (|x| < 3.2)")
        if not all(-4.0 <= w <= 4.0 for w in req.expression.values()):
            raise HTTPException(422, "expression weights must lie in [-4, 4] (ARKit weights 0..1, FLAME "
                                     "components in standard deviations)")
        live = entry["live"]
        if req.size not in live:
            from ..detail.live import LiveWrinkles
            model, decoder = _live_parts(entry["meta"])
            live[req.size] = LiveWrinkles(entry["folder"], model, decoder, req.size)
        lw = live[req.size]
        try:
            e = lw.expression_vector(req.expression)
        except KeyError as err:
            raise HTTPException(422, str(err.args[0]))
        jaw = np.asarray(req.jaw, np.float32)
        if req.output == "displacement":
            arr = lw.displacement(e, jaw).astype("<f4")
            dtype = "float32"
        else:
            arr = lw.normal_rgb(e, jaw)
            dtype = "uint8"
        return Response(arr.tobytes(), media_type="application/octet-stream",
                        headers={"X-Shape": ",".join(map(str, arr.shape)), "X-Dtype": dtype})

    @app.post("/avatars/{aid}/bake", dependencies=[Depends(auth)])
    def bake(aid: str):
        """Bake (or re-bake) the avatar's wrinkle maps into its bundle; returns the sidecar JSON."""
        import json

        from ..detail.wrinkle_maps import write_wrinkle_maps

        entry = _avatar(aid)
        model, decoder = _live_parts(entry["meta"])
        write_wrinkle_maps(entry["folder"], entry["meta"], model, decoder, log=lambda m: None)
        return json.loads((entry["folder"] / "wrinkles" / "wrinkles.json").read_text())

    return app


def write_token_file(path: Path, url: str, token: str) -> None:
    """Per-user file the add-on reads: {url, token}, readable by the user only, written atomically."""
    import json
    import os

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"url": url, "token": token}, f)
    os.replace(tmp, path)
