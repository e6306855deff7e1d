"""FastAPI app: health, reconstruction jobs (upload photos -> job id -> progress -> bundle zip),
cancel. Every request needs the per-launch token (header `Authorization: Bearer TOKEN`).
Bad input gets a 4xx JSON error with a message; a full queue gets 503 with Retry-After."""
from __future__ import annotations

import io
import secrets
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from fastapi import Depends, FastAPI, File, Form, Header, HTTPException, Request, UploadFile
from fastapi.responses import JSONResponse, StreamingResponse

from .. import __version__
from .jobs import JobManager, QueueFull

MAX_UPLOAD_BYTES = 32 * 1024 * 1024
MAX_PHOTOS = 8


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
                     landmarks: str = Form("dlib"), face_index: int = Form(0)):
        from ..imageio import ImageLoadError, load_photo

        if not 1 <= len(photos) <= MAX_PHOTOS:
            raise HTTPException(422, f"send 1 to {MAX_PHOTOS} photos")
        if quality not in ("fast", "default", "high"):
            raise HTTPException(422, "quality must be fast, default or high")
        if landmarks not in ("dlib", "fan"):
            raise HTTPException(422, "landmarks must be dlib or fan")
        if face_index < 0:
            raise HTTPException(422, "face_index must be 0 or more")
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
            job = jobs.submit(data, {"quality": quality, "landmarks": landmarks, "face_index": face_index})
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
