"""The add-on's backend client never goes through a proxy, and talks only to a backend on this
machine unless the user allows a remote one (issue 18, finding 3). Real loopback servers."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from headsmith_blender.core.client import BackendClient, BackendError, is_loopback


def _server(seen: list):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append((self.path, self.headers.get("Authorization")))
            body = json.dumps({"status": "ok"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def test_the_token_never_goes_through_a_proxy(monkeypatch):
    backend_seen, proxy_seen = [], []
    backend, proxy = _server(backend_seen), _server(proxy_seen)
    try:
        for var in ("no_proxy", "NO_PROXY"):
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{proxy.server_port}")
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_port}")
        BackendClient(f"http://127.0.0.1:{backend.server_port}", "secret").health()
    finally:
        backend.shutdown()
        proxy.shutdown()
    assert backend_seen == [("/health", "Bearer secret")] and proxy_seen == []


@pytest.mark.parametrize("url", ["http://192.0.2.7:8765", "http://localhost.example.com:8765",
                                 "http://headsmith.example:8765", "file:///etc/passwd", "http://0.0.0.0:8765"])
def test_a_backend_off_this_machine_is_refused_unless_allowed(url):
    with pytest.raises(BackendError, match="not on this machine"):
        BackendClient(url, "secret")
    assert BackendClient(url, "secret", allow_remote=True).url == url   # the user's explicit choice


def test_loopback_addresses():
    assert all(is_loopback(u) for u in ("http://127.0.0.1:8765", "http://localhost:1", "http://[::1]:8765",
                                        "https://127.0.0.9"))
