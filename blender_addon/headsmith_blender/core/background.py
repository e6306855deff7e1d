"""Work off the UI thread (no bpy here): tasks run in worker threads and their results come back
through a queue that the main thread drains from a `bpy.app.timers` callback (`drain`), so bpy
is only ever touched on the main thread and Blender never waits on the network."""
from __future__ import annotations

import queue
import threading
from typing import Callable

_results: "queue.Queue[tuple[Callable, tuple]]" = queue.Queue()


def run(task: Callable[[], object], on_done: Callable[[object], None], on_error: Callable[[Exception], None]) -> threading.Thread:
    """Start task() in a daemon thread; on_done(result) or on_error(exc) later runs on the main
    thread (in `drain`)."""

    def work():
        try:
            res = task()
        except Exception as e:  # handed to the main thread, which shows the message
            _results.put((on_error, (e,)))
        else:
            _results.put((on_done, (res,)))

    t = threading.Thread(target=work, daemon=True, name="headsmith-task")
    t.start()
    return t


def post(fn: Callable, *args) -> None:
    """Run fn(*args) on the main thread at the next drain (from any thread)."""
    _results.put((fn, args))


def drain(max_items: int = 32) -> int:
    """Main thread: run queued callbacks. Returns how many ran."""
    n = 0
    while n < max_items:
        try:
            fn, args = _results.get_nowait()
        except queue.Empty:
            break
        fn(*args)
        n += 1
    return n
