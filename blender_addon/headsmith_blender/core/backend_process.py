"""The backend as the extension sees it (no bpy): where it is and how to reach it (the token
file `headsmith serve` writes), attaching to a running one, or launching it and waiting for its
health check, and stopping what this extension launched."""
from __future__ import annotations

import os
import shlex
import subprocess
import time
from pathlib import Path

from .client import DEFAULT_TOKEN_FILE, DEFAULT_URL, BackendClient, BackendError, read_token_file
from .strings import MESSAGES

TOKEN_FILE_ENV = "HEADSMITH_TOKEN_FILE"   # headless scripts (no preferences) name the token file here
LAUNCHED: list = []     # backends this extension started; stopped when it is disabled


def default_token_file() -> str:
    return os.environ.get(TOKEN_FILE_ENV, DEFAULT_TOKEN_FILE)


def client_for(url: str | None = None, token_file: str | None = None, timeout: float = 2.0,
               allow_remote: bool = False) -> BackendClient:
    """A client from the preferences' URL and token file (the file's URL wins when present, since
    `headsmith serve` wrote it). A URL off this machine is refused unless `allow_remote`."""
    file_url, token = read_token_file(token_file or default_token_file())
    return BackendClient(file_url or url or DEFAULT_URL, token, timeout, allow_remote)


def ensure_backend(launch_command: str, token_file: str, url: str, wait_s: float = 60.0,
                   allow_remote: bool = False) -> BackendClient:
    """Worker thread: attach to a running backend, or launch it with `launch_command` and wait for
    its health check."""
    try:
        c = client_for(url, token_file, allow_remote=allow_remote)
        c.health()
        return c
    except BackendError as first:
        if not launch_command.strip() or first.status == 401:
            raise
    proc = subprocess.Popen(shlex.split(launch_command) + ["--token-file", str(Path(token_file).expanduser())],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    LAUNCHED.append(proc)
    t0 = time.time()
    last = None
    while time.time() - t0 < wait_s:
        time.sleep(0.5)
        try:
            c = client_for(url, token_file, allow_remote=allow_remote)
            c.health()
            return c
        except BackendError as e:
            last = e
    raise last or BackendError(MESSAGES["backend_down"].format(url=url))


def stop_launched() -> None:
    while LAUNCHED:
        proc = LAUNCHED.pop()
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
