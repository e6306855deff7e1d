"""FastAPI app: health, reconstruction jobs (upload photos -> job id -> progress -> bundle zip),
video tracking jobs (a video and an avatar on this machine -> a Live Link Face take), cancel, and
live wrinkles (open an avatar, then decode its normal map at any expression: the fast
path the Blender add-on calls when sliders move; bake its wrinkle maps). Every request needs the
per-launch token (header `Authorization: Bearer TOKEN`). Bad input gets a 4xx JSON error with a
message; a full queue gets 503 with Retry-After."""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

import torch
from fastapi import Depends, FastAPI, Header, HTTPException

from .. import __version__
from .body_limit import BodyLimit
from .contract import LOOPBACK_HOSTS, add_contract, errors
from .jobs import JobManager
from .routers import avatars, jobs, track

MAX_UPLOAD_BYTES = 32 * 1024 * 1024        # one photo
MAX_REQUEST_BYTES = 64 * 1024 * 1024       # one request, all its photos: refused before it is read


@dataclass
class ServiceSettings:
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    max_pending: int = 4
    jobs_root: Path | None = None   # the user's jobs folder (default TMPDIR/headsmith-jobs-<user>; see jobs.py)
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    max_request_bytes: int = MAX_REQUEST_BYTES
    allowed_hosts: list[str] = field(default_factory=lambda: list(LOOPBACK_HOSTS))   # Host headers served


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    s = settings or ServiceSettings()
    manager = JobManager(s.jobs_root, max_pending=s.max_pending)
    app = FastAPI(title="Headsmith", version=__version__, openapi_url=None, docs_url=None, redoc_url=None,
                  description="Local photo-to-avatar reconstruction service (loopback, token required). "
                              "Every error answers {\"error\": message}.")
    app.state.jobs = manager
    app.state.settings = s
    app.state.avatars = {}

    def auth(authorization: str | None = Header(default=None)):
        expected = f"Bearer {s.token}"
        if authorization is None or not secrets.compare_digest(authorization.encode(), expected.encode()):
            raise HTTPException(status_code=401, detail="missing or wrong token: send 'Authorization: Bearer "
                                                        "<token>' with the token from the service's token file")

    @app.on_event("shutdown")
    def _shutdown():
        manager.shutdown()

    @app.get("/health", dependencies=[Depends(auth)], responses=errors(401))
    def health():
        return {"status": "ok", "version": __version__,
                "device": "cuda" if torch.cuda.is_available() else "cpu"}

    app.include_router(jobs.router, dependencies=[Depends(auth)], responses=errors(400, 401, 422))
    app.include_router(avatars.router, dependencies=[Depends(auth)], responses=errors(400, 401, 422))
    app.include_router(track.router, dependencies=[Depends(auth)], responses=errors(400, 401, 422))
    add_contract(app, auth, s.allowed_hosts)
    app.add_middleware(BodyLimit, limit=s.max_request_bytes)
    return app


def write_token_file(path: Path, url: str, token: str) -> None:
    """Per-user file the add-on reads: {url, token}, readable by the user only (the temporary
    file is created 0600 with a fresh name), written atomically."""
    import json

    from ..atomic import write_bytes_atomic

    write_bytes_atomic(path, json.dumps({"url": url, "token": token}).encode(), private=True)
