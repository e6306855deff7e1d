"""Video tracking jobs: a video and an avatar bundle, both on this machine (a take is hundreds of
megabytes: it is read where it lies, never uploaded) -> a job id -> its progress -> the Live
Link Face take (CSV). The video, the avatar and the quality are checked before a job is queued, so
bad input is a 422."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from ..contract import errors
from ..jobs import JobManager, QueueFull
from .jobs import finished_job, job_manager

router = APIRouter()


class TrackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    video: str = Field(description="a video file on this machine (.mp4, .mov, .avi: what OpenCV reads)")
    bundle: str = Field(description="the avatar's bundle folder (or its avatar folder) on this machine")
    quality: Literal["fast", "default"] = "fast"


def _check(req: TrackRequest) -> tuple[Path, Path]:
    """-> (video, bundle folder), or a 422 saying what is wrong with them."""
    from ...avatar.make import bundle_of
    from ...track import TrackError
    from ...track.job import avatar_shape
    from ...track.video import probe_video

    try:
        video, avatar = Path(req.video).expanduser(), Path(req.bundle).expanduser()
        avatar_shape(avatar)
        probe_video(video)
        return video.resolve(), bundle_of(avatar).resolve()
    except TrackError as e:
        raise HTTPException(422, str(e))
    except RuntimeError as e:   # '~someone' for a user that does not exist
        raise HTTPException(422, f"{req.video!r} / {req.bundle!r}: {e}")


@router.post("/track", status_code=202, responses=errors(503))
async def submit_track(request: Request, req: TrackRequest):
    """Track the video with the avatar's identity fixed: per-frame ARKit weights, jaw, head pose and
    gaze, written as a Live Link Face take (GET /jobs/{id}/take when done)."""
    video, bundle = await run_in_threadpool(_check, req)
    try:
        job = job_manager(request).submit_track(video, bundle, req.quality)
    except QueueFull as e:
        raise HTTPException(503, f"busy: {e}; retry later", headers={"Retry-After": "10"})
    return job.public()


@router.get("/jobs/{jid}/take", responses={**errors(404, 409), 200: {"content": {"text/csv": {}},
                                                                     "description": "the Live Link Face take"}})
def take(jid: str, jobs: JobManager = Depends(job_manager)):
    job = finished_job(jid, jobs, "track")
    return FileResponse(job.output, media_type="text/csv", filename=f"{jid}.csv")
