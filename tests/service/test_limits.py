"""Issue 18, findings 5 and 6, against a real service on loopback: an oversized upload is refused
from its Content-Length before its body is read (or, without one, as soon as it passes the
limit), and checking an uploaded photo does not hold the event loop: /health answers meanwhile."""
import socket
import threading

import httpx
import pytest

from headsmith.service import ServiceSettings
from headsmith.service.local import serve_in_thread


@pytest.fixture
def service(tmp_path):
    s = ServiceSettings(jobs_root=tmp_path / "jobs", max_request_bytes=4 * 1024 * 1024)
    with serve_in_thread(s) as port:
        yield s, port


def test_an_oversized_upload_is_refused_before_its_body_is_sent(service):
    s, port = service
    with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
        c.sendall((f"POST /reconstruct HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {s.token}\r\n"
                   "Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 200000000\r\n\r\n").encode())
        c.sendall(b"--x\r\n")                    # 5 of the 200 MB announced: the rest never comes
        reply = b""
        while b"limit" not in reply:             # answered now, or the 10 s timeout fails the test
            chunk = c.recv(4096)
            if not chunk:
                break
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 413") and b"limit" in reply, reply


def test_a_body_without_a_length_is_stopped_at_the_limit(service):
    s, port = service
    sent = 0

    def chunks():
        nonlocal sent
        yield b"--x\r\nContent-Disposition: form-data; name=\"photos\"; filename=\"a.png\"\r\n\r\n"
        for _ in range(64):                      # up to 64 MB, 16 times the limit
            sent += 1
            yield b"\0" * (1024 * 1024)

    with httpx.Client(trust_env=False, timeout=30) as client:
        try:
            r = client.post(f"http://127.0.0.1:{port}/reconstruct", content=chunks(),
                            headers={"Authorization": f"Bearer {s.token}",
                                     "Content-Type": "multipart/form-data; boundary=x"})
            assert r.status_code == 413, r.text
        except httpx.HTTPError:
            pass                                 # the server closed the connection on a refusal
    assert sent < 64


def test_health_answers_while_a_photo_is_being_checked(service, monkeypatch, astronaut_path):
    """The photo check is held on an event until /health has answered: if the check ran on the
    event loop, /health could not answer and would time out."""
    import headsmith.imageio

    s, port = service
    checking, release = threading.Event(), threading.Event()
    real = headsmith.imageio.load_photo

    def slow_load(p, *a, **k):
        checking.set()
        release.wait(30)
        return real(p, *a, **k)

    monkeypatch.setattr(headsmith.imageio, "load_photo", slow_load)
    auth = {"Authorization": f"Bearer {s.token}"}
    result = {}

    def upload():
        with httpx.Client(trust_env=False, timeout=60) as c:
            result["r"] = c.post(f"http://127.0.0.1:{port}/reconstruct", headers=auth, data={"quality": "fast"},
                                 files={"photos": ("a.png", astronaut_path.read_bytes(), "image/png")})

    t = threading.Thread(target=upload)
    t.start()
    try:
        assert checking.wait(30)
        h = httpx.get(f"http://127.0.0.1:{port}/health", headers=auth, timeout=10, trust_env=False)
        assert h.status_code == 200
    finally:
        release.set()
        t.join(60)
    assert result["r"].status_code == 202, result["r"].text
    httpx.delete(f"http://127.0.0.1:{port}/jobs/{result['r'].json()['id']}", headers=auth, trust_env=False)
