"""The job worker: one process, started for the first job and kept for the next ones. It runs
reconstructions (photos -> a bundle) and tracks (a video on this machine + an avatar -> a take).

Why a process: a reconstruction spends seconds in dlib, torch and numpy calls that hold the GIL;
run in a thread of the service it stalled /health and live decoding for up to ~0.75 s. In its own
process it cannot. The worker works one job at a time, sends progress as ("progress", stage,
fraction 0..1) messages, honours a "cancel" message at the next stage boundary, and exits as soon as
the service process is gone (a kill -9 of the server leaves no worker behind). It runs at a lower
CPU priority than the service, so on a small machine live decoding keeps its pace during a job."""
from __future__ import annotations

import multiprocessing as mp
import os
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path


WORKER_NICENESS = 10   # the live sliders (decode in the service) come before a background job


KINDS = ("reconstruct", "track")


@dataclass(frozen=True)
class WorkOrder:
    """kind "reconstruct": inputs are photos, output the bundle folder, settings a
    ReconstructSettings dict; "track": inputs [video], output the take (.csv), settings
    {avatar: bundle folder, quality}."""
    kind: str
    inputs: list[Path]
    output: Path
    settings: dict


class _Cancelled(RuntimeError):
    pass


def _exit_with_parent() -> None:
    parent = mp.parent_process()
    if parent is not None:
        wait([parent.sentinel])
        os._exit(0)


def _run_one(conn: Connection, order: WorkOrder) -> tuple:
    """-> ("done",), ("cancelled",) or ("failed", message)."""
    from ..pipeline import ReconstructionError, ReconstructSettings, reconstruct
    from ..track import TrackError
    from ..track.job import track_video
    from ..wrinkles.sources import DecoderUnavailable

    def progress(stage: str, frac: float) -> None:
        while conn.poll():
            if conn.recv() == "cancel":
                raise _Cancelled
        conn.send(("progress", stage, float(frac)))

    try:
        if order.kind == "track":
            track_video(order.inputs[0], order.settings["avatar"], order.output, order.settings["quality"], progress)
        else:
            reconstruct(order.inputs, order.output, ReconstructSettings(**order.settings), progress=progress,
                        wrinkles=True)
        return ("done",)
    except _Cancelled:
        return ("cancelled",)
    except (ReconstructionError, DecoderUnavailable, TrackError) as e:
        return ("failed", str(e))
    except Exception as e:  # a bug fails the job, not the worker
        return ("failed", f"internal error: {type(e).__name__}: {e}")


def worker_main(conn: Connection) -> None:
    """The worker process: take WorkOrders until the pipe closes; a "cancel" that arrives between
    jobs is stale and ignored."""
    threading.Thread(target=_exit_with_parent, daemon=True).start()
    if hasattr(os, "nice"):
        os.nice(WORKER_NICENESS)
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        if isinstance(msg, WorkOrder):
            conn.send(_run_one(conn, msg))


class Worker:
    """The service's handle on the worker process (spawned, never forked: the service has threads)."""

    def __init__(self):
        self._proc = None
        self._conn: Connection | None = None

    def start(self) -> Connection:
        """The pipe to a running worker, starting one if there is none (or the last one died)."""
        if self._proc is None or not self._proc.is_alive():
            ctx = mp.get_context("spawn")
            ours, theirs = ctx.Pipe()
            self._proc = ctx.Process(target=worker_main, args=(theirs,), name="headsmith-worker", daemon=True)
            self._proc.start()
            theirs.close()
            self._conn = ours
        return self._conn

    def alive(self) -> bool:
        return self._proc is not None and self._proc.is_alive()

    def exit_code(self) -> int | None:
        """The ended worker's exit code (waits up to 1 s for the process to be reaped)."""
        if self._proc is None:
            return None
        self._proc.join(1.0)
        return self._proc.exitcode

    def stop(self, timeout: float = 5.0) -> None:
        if self._proc is None:
            return
        self._proc.terminate()
        self._proc.join(timeout)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(timeout)
        self._conn.close()
        self._proc = self._conn = None
