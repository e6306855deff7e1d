"""The real backend service on a free loopback port, for the service and Blender tests."""
from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def loopback_server(settings):
    """The real service (uvicorn in a thread) on a free loopback port -> yields the port."""
    import uvicorn

    from headsmith.service import create_app

    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    th = threading.Thread(target=srv.run, daemon=True)
    th.start()
    for _ in range(200):
        if srv.started:
            break
        time.sleep(0.05)
    assert srv.started
    try:
        yield port
    finally:
        srv.should_exit = True
        th.join(timeout=10)
