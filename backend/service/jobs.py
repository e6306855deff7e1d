"""Reconstruction jobs: a bounded queue worked by one background thread, with progress by stage
and cancellation. A failing job records its error; it never takes the service down."""
from __future__ import annotations

import shutil
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path


class QueueFull(RuntimeError):
    pass


class Cancelled(RuntimeError):
    pass


@dataclass
class Job:
    id: str
    workdir: Path
    photos: list[Path]
    settings: dict
    state: str = "queued"            # queued, running, done, failed, cancelled
    stage: str = ""
    progress: float = 0.0
    error: str | None = None
    created: float = field(default_factory=time.time)
    finished: float | None = None
    cancel: threading.Event = field(default_factory=threading.Event)

    @property
    def bundle(self) -> Path:
        return self.workdir / "bundle"

    def public(self) -> dict:
        return {"id": self.id, "state": self.state, "stage": self.stage, "progress": round(self.progress, 3),
                "error": self.error, "created": self.created, "finished": self.finished}


class JobManager:
    def __init__(self, root: Path | None = None, max_pending: int = 4, workers: int = 1):
        self.root = Path(root or tempfile.mkdtemp(prefix="headsmith-jobs-"))
        self.max_pending = max_pending
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="headsmith-job")
        self.parts: dict = {}   # (model, wrinkle decoder) per bundle kind, for live decoding and re-bakes

    def submit(self, photos: list[tuple[str, bytes]], settings: dict) -> Job:
        with self._lock:
            pending = sum(j.state in ("queued", "running") for j in self._jobs.values())
            if pending >= self.max_pending:
                raise QueueFull(f"{pending} reconstructions are already queued or running")
            jid = uuid.uuid4().hex[:12]
            work = self.root / jid
            (work / "photos").mkdir(parents=True)
            paths = []
            for i, (name, data) in enumerate(photos):
                p = work / "photos" / f"{i:02d}{Path(name).suffix.lower()[:8] or '.img'}"
                p.write_bytes(data)
                paths.append(p)
            job = Job(jid, work, paths, settings)
            self._jobs[jid] = job
        self._pool.submit(self._run, job)
        return job

    def get(self, jid: str) -> Job | None:
        return self._jobs.get(jid)

    def cancel(self, jid: str) -> Job | None:
        job = self._jobs.get(jid)
        if job is not None and job.state in ("queued", "running"):
            job.cancel.set()
            if job.state == "queued":
                job.state, job.finished = "cancelled", time.time()
        return job

    def _run(self, job: Job) -> None:
        from ..pipeline import ReconstructionError, ReconstructSettings, reconstruct
        from ..wrinkles.sources import DecoderUnavailable

        if job.cancel.is_set():
            job.state = "cancelled"
            return
        job.state = "running"

        def progress(stage, frac):
            if job.cancel.is_set():
                raise Cancelled("cancelled")
            job.stage, job.progress = stage, float(frac)

        try:
            settings = ReconstructSettings(**job.settings)
            reconstruct(job.photos, job.bundle, settings, progress=progress, wrinkles=True)
            job.state, job.stage, job.progress = "done", "bundle", 1.0
        except Cancelled:
            job.state = "cancelled"
        except (ReconstructionError, DecoderUnavailable) as e:
            job.state, job.error = "failed", str(e)
        except Exception as e:  # a bug must not take the service down; it is reported on the job
            job.state, job.error = "failed", f"internal error: {type(e).__name__}: {e}"
        finally:
            job.finished = time.time()

    def shutdown(self) -> None:
        for j in self._jobs.values():
            j.cancel.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(self.root, ignore_errors=True)
