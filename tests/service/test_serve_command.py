"""`headsmith serve` as users start it (a real process on loopback): a second one on a taken port
exits with a message and leaves the first one's token alone (issue 18, finding 7); the token file
is never written through a planted temporary."""
import json
import subprocess
import sys
import time

import httpx

from headsmith.service.local import free_port


def _serve(port, token_file):
    return subprocess.Popen([sys.executable, "-m", "headsmith.cli", "serve", "--port", str(port), "--token-file",
                             str(token_file)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _health(port, token):
    return httpx.get(f"http://127.0.0.1:{port}/health", headers={"Authorization": f"Bearer {token}"},
                     timeout=5, trust_env=False).status_code


def test_a_second_serve_on_a_taken_port_keeps_the_first_ones_token(tmp_path):
    port, token_file = free_port(), tmp_path / "service.json"
    first = _serve(port, token_file)
    try:
        t0 = time.monotonic()
        while time.monotonic() - t0 < 60:
            try:
                if token_file.is_file() and _health(port, json.loads(token_file.read_text())["token"]) == 200:
                    break
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.2)
        before = token_file.read_text()
        second = _serve(port, token_file)
        _, err = second.communicate(timeout=60)
        assert second.returncode == 2 and "cannot listen" in err, err
        assert token_file.read_text() == before
        assert _health(port, json.loads(before)["token"]) == 200
    finally:
        first.terminate()
        first.wait(timeout=20)


def test_the_token_file_is_not_written_through_a_planted_link(tmp_path):
    from headsmith.service.app import write_token_file

    victim = tmp_path / "victim"
    victim.write_text("keep")
    for stale in ("service.json.tmp", ".service.json.tmp"):
        (tmp_path / stale).symlink_to(victim)
    write_token_file(tmp_path / "service.json", "http://127.0.0.1:1", "secret")
    assert victim.read_text() == "keep"
    assert json.loads((tmp_path / "service.json").read_text())["token"] == "secret"
    assert (tmp_path / "service.json").stat().st_mode & 0o777 == 0o600
