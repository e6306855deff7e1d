"""Reconstruction jobs: upload photos -> a job id -> its stage and progress -> the bundle as a zip;
cancel. The photos and settings are checked before a job is queued, so bad input is a 4xx."""
from __future__ import annotations

import asyncio
import io
import os
import tempfile
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from ..contract import errors
from ..jobs import Job, JobManager, QueueFull

MAX_PHOTOS = 8
CHECK_NICENESS = 10   # photo checks yield the CPU to live decoding (see benchmarks/NOTES.md)

router = APIRouter()


def _lower_priority() -> None:
    """Run this thread below the service's own priority (Linux sets niceness per thread)."""
    if hasattr(os, "setpriority"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), CHECK_NICENESS)
        except OSError:
            pass


# Uploads are decoded and checked one at a time on their own low-priority thread: a 30 MP photo
# takes a core for a second, and the live wrinkle decodes must not wait behind it.
_photo_checks = ThreadPoolExecutor(max_workers=1, thread_name_prefix="headsmith-photo-check",
                                   initializer=_lower_priority)


def job_manager(request: Request) -> JobManager:
    return request.app.state.jobs


def find_job(jid: str, jobs: JobManager) -> Job:
    job = jobs.get(jid)
    if job is None:
        raise HTTPException(404, f"no job {jid}")
    return job


def finished_job(jid: str, jobs: JobManager, kind: str) -> Job:
    """The job, done and of this kind; 404 or 409 (saying why) otherwise."""
    job = find_job(jid, jobs)
    if job.kind != kind:
        raise HTTPException(409, f"job {jid} is a {job.kind} job, not a {kind} job")
    if job.state != "done":
        raise HTTPException(409, f"job {jid} is {job.state}" + (f": {job.error}" if job.error else ""))
    return job


def _check_settings(form: dict) -> dict:
    """The form's settings through the pipeline's one check, and the user's FLAME/DECA files
    loaded once (a refused pickle is a 422 now, not a failed job) -> the job's settings dict."""
    from ...pipeline import ReconstructionError, ReconstructSettings, check_settings
    from ...pipeline.stages import check_user_files

    s = ReconstructSettings(**form)
    try:
        check_settings(s, files_must_exist=True)
        check_user_files(s)
    except ReconstructionError as e:
        raise HTTPException(422, str(e))
    out = {k: form[k] for k in ("quality", "landmarks", "face_index", "model", "init")}
    if s.model == "flame":
        out.update({k: str(Path(v).expanduser()) for k, v in form.items() if k not in out and v})
    return out


async def _read_photos(photos: list[UploadFile], limit: int) -> list[tuple[str, bytes]]:
    """Each upload (at most `limit` bytes), checked to load as a photo now, off the event loop
    (decoding a large photo must not hold /health or the live wrinkle decodes)."""
    data = []
    for up in photos:
        blob = await up.read(limit + 1)
        if len(blob) > limit:
            raise HTTPException(413, f"{up.filename}: over the {limit // (1024 * 1024)} MB upload limit")
        data.append((up.filename or "photo", blob))
    await asyncio.get_running_loop().run_in_executor(_photo_checks, _check_photos, data)
    return data


def _check_photos(data: list[tuple[str, bytes]]) -> None:
    from ...imageio import ImageLoadError, load_photo

    with tempfile.TemporaryDirectory() as tmp:
        for name, blob in data:
            p = Path(tmp) / ("check" + (Path(name).suffix.lower()[:8] or ".img"))
            p.write_bytes(blob)
            try:
                load_photo(p)
            except ImageLoadError as e:
                raise HTTPException(422, f"{name}: {str(e).split(': ', 1)[-1]}")


@router.post("/reconstruct", status_code=202, responses=errors(413, 503))
async def submit(request: Request, photos: list[UploadFile] = File(..., min_length=1, max_length=MAX_PHOTOS),
                 quality: str = Form("default"), landmarks: str = Form("mediapipe"), face_index: int = Form(0),
                 model: str = Form("openhead"), init: str = Form("auto"), mesh_weights: str = Form("auto"),
                 flame_path: str | None = Form(None), flame_landmarks: str | None = Form(None),
                 flame_uv: str | None = Form(None), flame_masks: str | None = Form(None),
                 flame_albedo: str | None = Form(None), deca_path: str | None = Form(None),
                 flame_mediapipe: str | None = Form(None)):
    """FLAME: the paths are files on this machine (your licensed copies; never uploaded).
    flame_masks (DECA's FLAME_masks.pkl), flame_mediapipe (FLAME's mediapipe_landmark_embedding.npz), flame_albedo (an albedo model .npz) and deca_path
    (deca_model.tar, for wrinkles) are optional. 1 to MAX_PHOTOS photos (checked by the schema)."""
    settings = await run_in_threadpool(_check_settings, dict(
        quality=quality, landmarks=landmarks, face_index=face_index, model=model, init=init,
        mesh_weights=mesh_weights, flame_path=flame_path,
        flame_landmarks=flame_landmarks, flame_uv=flame_uv, flame_masks=flame_masks, flame_albedo=flame_albedo,
        deca_path=deca_path, flame_mediapipe=flame_mediapipe))
    data = await _read_photos(photos, request.app.state.settings.max_upload_bytes)
    try:
        job = job_manager(request).submit(data, settings)
    except QueueFull as e:
        raise HTTPException(503, f"busy: {e}; retry later", headers={"Retry-After": "10"})
    return job.public()


@router.get("/jobs/{jid}", responses=errors(404))
def status(jid: str, jobs: JobManager = Depends(job_manager)):
    return find_job(jid, jobs).public()


@router.delete("/jobs/{jid}", responses=errors(404))
def cancel(jid: str, jobs: JobManager = Depends(job_manager)):
    find_job(jid, jobs)
    return jobs.cancel(jid).public()


@router.get("/jobs/{jid}/bundle", responses={**errors(404, 409), 200: {"content": {"application/zip": {}},
                                                                        "description": "the bundle as a zip"}})
def bundle(jid: str, jobs: JobManager = Depends(job_manager)):
    job = finished_job(jid, jobs, "reconstruct")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(job.output.rglob("*")):
            if f.is_file():
                z.write(f, f.relative_to(job.output))
    buf.seek(0)
    return StreamingResponse(buf, media_type="application/zip",
                             headers={"Content-Disposition": f'attachment; filename="{jid}.zip"'})
