"""Jobs (reconstructions and video tracks): a bounded queue, worked one at a time in a worker
process (worker.py) that one background thread follows, with progress by stage and cancellation.
A failing job records its error; it never takes the service down.

Where they live: one folder per user (TMPDIR/headsmith-jobs-<user>, 0700), and in it one folder per
running server (<pid>-<random>). A starting server removes the folders of servers that are no
longer running (killed ones included); a job's photos are removed as soon as it ends; finished
jobs are pruned after KEEP_FINISHED_S or beyond KEEP_FINISHED_MAX; a clean stop removes the
server's folder."""
from __future__ import annotations

import getpass
import os
import shutil
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .worker import Worker, WorkOrder


KEEP_FINISHED_S = 3600     # a finished job's bundle stays downloadable this long (seconds)
KEEP_FINISHED_MAX = 16     # and at most this many finished jobs are kept


class QueueFull(RuntimeError):
    pass


class Cancelled(RuntimeError):
    pass


@dataclass
class Job:
    """kind and settings as in worker.WorkOrder; inputs: the uploaded photos (kept in
    workdir/photos until the job ends) or the video on this machine."""
    id: str
    workdir: Path
    inputs: list[Path]
    settings: dict
    kind: str = "reconstruct"
    state: str = "queued"            # queued, running, done, failed, cancelled
    stage: str = ""
    progress: float = 0.0
    error: str | None = None
    created: float = field(default_factory=time.time)
    finished: float | None = None
    cancel: threading.Event = field(default_factory=threading.Event)

    @property
    def output(self) -> Path:
        """The bundle folder of a reconstruction, the take file of a track."""
        return self.workdir / ("take.csv" if self.kind == "track" else "bundle")

    def public(self) -> dict:
        return {"id": self.id, "kind": self.kind, "state": self.state, "stage": self.stage,
                "progress": round(self.progress, 3),
                "error": self.error, "created": self.created, "finished": self.finished}


def user_jobs_base() -> Path:
    user = os.getuid() if hasattr(os, "getuid") else getpass.getuser()
    return Path(tempfile.gettempdir()) / f"headsmith-jobs-{user}"


def _alive(pid: int) -> bool:
    if os.name == "nt":   # os.kill(pid, 0) would terminate the process there: keep the folder
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _own_private_folder(base: Path) -> Path:
    """base, created 0700; refused when it is a link or another user's (a shared temp folder)."""
    base.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = os.lstat(base)
    if os.path.islink(base) or (hasattr(os, "getuid") and st.st_uid != os.getuid()):
        raise RuntimeError(f"{base} is a link or belongs to another user; remove it or set TMPDIR")
    os.chmod(base, 0o700)
    return base


def remove_stale_servers(base: Path) -> list[Path]:
    """Remove the folders of servers (named <pid>-...) that are no longer running. -> removed."""
    removed = []
    for d in base.iterdir():
        pid = d.name.split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
    return removed


class JobManager:
    def __init__(self, base: Path | None = None, max_pending: int = 4,
                 keep_finished_s: float = KEEP_FINISHED_S, keep_finished_max: int = KEEP_FINISHED_MAX):
        base = _own_private_folder(Path(base or user_jobs_base()))
        remove_stale_servers(base)
        self.root = base / f"{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.root.mkdir(mode=0o700)
        self.keep_finished_s, self.keep_finished_max = keep_finished_s, keep_finished_max
        self.max_pending = max_pending
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="headsmith-job")
        self._worker = Worker()
        self.parts: dict = {}   # (model, wrinkle decoder) per bundle kind, for live decoding and re-bakes

    def submit(self, photos: list[tuple[str, bytes]], settings: dict) -> Job:
        """A reconstruction of the uploaded photos ((file name, bytes) each)."""

        def keep_photos(work: Path) -> list[Path]:
            (work / "photos").mkdir()
            paths = []
            for i, (name, data) in enumerate(photos):
                p = work / "photos" / f"{i:02d}{Path(name).suffix.lower()[:8] or '.img'}"
                p.write_bytes(data)
                paths.append(p)
            return paths

        return self._queue("reconstruct", keep_photos, settings)

    def submit_track(self, video: Path, avatar: Path, quality: str) -> Job:
        """A track of a video on this machine with the identity of an avatar bundle folder."""
        return self._queue("track", lambda work: [Path(video)], {"avatar": str(avatar), "quality": quality})

    def _queue(self, kind: str, inputs, settings: dict) -> Job:
        """A new job in its own folder (inputs(folder) -> its input paths), handed to the pool;
        QueueFull past max_pending."""
        self.prune()
        with self._lock:
            pending = sum(j.state in ("queued", "running") for j in self._jobs.values())
            if pending >= self.max_pending:
                raise QueueFull(f"{pending} jobs are already queued or running")
            jid = uuid.uuid4().hex[:12]
            work = self.root / jid
            work.mkdir(parents=True)
            job = Job(jid, work, inputs(work), settings, kind)
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
        """Hand the job to the worker process and follow it: progress, cancel, its death.
        The photos are removed before the end is published, so whoever sees the job ended
        (state or finished) never finds its photos still on disk."""
        state, error = "failed", "internal error: the job stopped unexpectedly"
        try:
            if job.cancel.is_set():
                raise Cancelled("cancelled before it started")
            job.state = "running"
            conn = self._worker.start()
            conn.send(WorkOrder(job.kind, job.inputs, job.output, job.settings))
            state, error = self._follow(job, conn)
        except Cancelled:
            state = "cancelled"
        except (OSError, EOFError) as e:   # the worker could not be started or its pipe broke
            state, error = "failed", f"internal error: the worker process failed: {e}"
        finally:
            shutil.rmtree(job.workdir / "photos", ignore_errors=True)   # face photos: not kept a moment longer
            if state == "done":
                job.stage, job.progress = "bundle", 1.0
            job.error = error if job.finished is None else job.error
            job.state = state if job.finished is None else job.state
            job.finished = job.finished or time.time()
            self.prune()

    def _follow(self, job: Job, conn) -> tuple[str, str | None]:
        """Relay the worker's messages onto the job until it ends. -> (state, error)."""
        cancel_sent = False
        while True:
            try:
                if job.cancel.is_set() and not cancel_sent:
                    conn.send("cancel")
                    cancel_sent = True
                if conn.poll(0.1):
                    msg = conn.recv()
                    if msg[0] == "progress":
                        job.stage, job.progress = msg[1], msg[2]
                        continue
                    return msg[0], (msg[1] if len(msg) > 1 else None)
                ended = not self._worker.alive()
            except (EOFError, OSError):          # the pipe closed: the worker is gone
                ended = True
            if ended:
                if job.cancel.is_set():
                    return "cancelled", None
                return "failed", f"internal error: the worker process ended (exit code {self._worker.exit_code()})"

    def prune(self, now: float | None = None) -> None:
        """Forget finished jobs older than keep_finished_s, and the oldest beyond keep_finished_max,
        removing their folders."""
        now = time.time() if now is None else now
        with self._lock:
            done = sorted((j for j in self._jobs.values() if j.finished is not None), key=lambda j: j.finished)
            old = [j for j in done if now - j.finished > self.keep_finished_s]
            old += [j for j in done[:max(len(done) - self.keep_finished_max, 0)] if j not in old]
            for j in old:              # the folder goes first: a forgotten job has nothing left
                shutil.rmtree(j.workdir, ignore_errors=True)
                del self._jobs[j.id]

    def shutdown(self) -> None:
        for j in self._jobs.values():
            j.cancel.set()
        self._worker.stop()
        self._pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(self.root, ignore_errors=True)
