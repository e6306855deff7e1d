"""headsmith_blender.core.backend_process: the client comes from the token file `headsmith serve`
writes, and the extension's defaults are the service's."""
import json

import pytest

from headsmith_blender.core import backend_process
from headsmith_blender.core.client import DEFAULT_TOKEN_FILE, DEFAULT_URL, BackendError


def test_the_token_files_url_and_token_win(tmp_path, monkeypatch):
    tf = tmp_path / "service.json"
    tf.write_text(json.dumps({"url": "http://127.0.0.1:9999", "token": "t0k"}))
    c = backend_process.client_for("http://127.0.0.1:1", str(tf))
    assert (c.url, c.token) == ("http://127.0.0.1:9999", "t0k")
    monkeypatch.setenv(backend_process.TOKEN_FILE_ENV, str(tf))
    assert backend_process.default_token_file() == str(tf)
    c = backend_process.client_for()
    assert c.url == "http://127.0.0.1:9999"


def test_a_missing_token_file_says_what_to_do(tmp_path):
    with pytest.raises(BackendError, match="none.json"):
        backend_process.client_for("http://127.0.0.1:1234", str(tmp_path / "none.json"))


def test_the_extensions_defaults_are_the_services():
    """The add-on cannot import the backend (Blender has no torch), so each side names the
    default backend address and token file once; this holds them together."""
    from headsmith.cli import SERVE_PORT, TOKEN_FILE

    assert DEFAULT_URL == f"http://127.0.0.1:{SERVE_PORT}" and DEFAULT_TOKEN_FILE == TOKEN_FILE
