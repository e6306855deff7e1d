"""Run the service in a background thread of this process on a free loopback port: used by the
tests and the benchmarks (the real server, no mocks), and by tools that embed the backend."""
from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (OSError when it is taken), for uvicorn to serve on."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # not a live listener's port (Linux)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve_in_thread(settings, start_timeout: float = 10.0):
    """-> yields the port; the server stops when the block exits."""
    import uvicorn

    from .app import create_app

    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    th = threading.Thread(target=srv.run, daemon=True, name="headsmith-service")
    th.start()
    t0 = time.monotonic()
    while not srv.started:
        if time.monotonic() - t0 > start_timeout or not th.is_alive():
            raise RuntimeError("the Headsmith service did not start")
        time.sleep(0.05)
    try:
        yield port
    finally:
        srv.should_exit = True
        th.join(timeout=10)
