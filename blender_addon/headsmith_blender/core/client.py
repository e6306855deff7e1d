"""HTTP client of the Headsmith backend (stdlib only, no bpy): every call has a short timeout and
turns network and HTTP failures into `BackendError` with a message an artist can act on."""
from __future__ import annotations

import io
import ipaddress
import json
import os
import secrets
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .files import publish
from .strings import MESSAGES

DEFAULT_URL = "http://127.0.0.1:8765"
DEFAULT_TOKEN_FILE = "~/.headsmith/service.json"
# Never through a proxy: urllib would send the token, the photos and the bundles to whatever
# http_proxy names, even for 127.0.0.1, unless no_proxy covers it.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def is_loopback(url: str) -> bool:
    """True for http(s) URLs whose host is localhost or a loopback address (127.0.0.0/8, ::1)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class BackendError(RuntimeError):
    """A failed backend call; str(e) is the message to show. `status` is the HTTP status or None."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


def read_token_file(path: str | Path) -> tuple[str | None, str]:
    """-> (url or None, token) from the file `headsmith serve` writes ({url, token} JSON)."""
    p = Path(path).expanduser()
    try:
        data = json.loads(p.read_text())
        return data.get("url"), data["token"]
    except FileNotFoundError:
        raise BackendError(MESSAGES["no_token"].format(path=p))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise BackendError(f"{p}: not a Headsmith token file ({e})")


@dataclass
class BackendClient:
    """Talks to the backend at `url`: on this machine only, unless `allow_remote` (a preference
    the user turns on, shown in the panel) lets photos and the token leave it."""

    url: str
    token: str
    timeout: float = 2.0
    allow_remote: bool = False

    def __post_init__(self):
        if not self.allow_remote and not is_loopback(self.url):
            raise BackendError(MESSAGES["remote_refused"].format(url=self.url))

    def _request(self, method: str, path: str, body: bytes | None = None, content_type: str | None = None,
                 timeout: float | None = None):
        req = urllib.request.Request(self.url.rstrip("/") + path, data=body, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        if content_type:
            req.add_header("Content-Type", content_type)
        try:
            return _OPENER.open(req, timeout=timeout or self.timeout)
        except urllib.error.HTTPError as e:
            try:
                msg = json.loads(e.read().decode() or "{}").get("error", e.reason)
            except ValueError:
                msg = e.reason
            if e.code == 401:
                raise BackendError(MESSAGES["bad_token"], 401)
            raise BackendError(MESSAGES["http_error"].format(status=e.code, message=msg), e.code)
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            raise BackendError(MESSAGES["backend_down"].format(url=self.url))

    def _json(self, method: str, path: str, payload=None, timeout: float | None = None) -> dict:
        body = None if payload is None else json.dumps(payload).encode()
        with self._request(method, path, body, "application/json" if body else None, timeout) as r:
            return json.loads(r.read().decode())

    def health(self) -> dict:
        return self._json("GET", "/health")

    def submit(self, photos: list[Path], quality: str = "default", landmarks: str = "mediapipe",
               model: str = "openhead", flame: dict | None = None) -> dict:
        """Upload photos -> the job's public state (id, state, stage, progress). flame: the paths
        flame_path, flame_landmarks, flame_uv (and optionally flame_masks, flame_mediapipe, flame_albedo, deca_path) of
        the user's files
        (sent as paths, not uploaded)."""
        boundary = secrets.token_hex(16)
        buf = io.BytesIO()
        fields = [("quality", quality), ("landmarks", landmarks), ("model", model)]
        fields += [(k, v) for k, v in (flame or {}).items() if v]
        for name, value in fields:
            buf.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
        for p in photos:
            p = Path(p)
            buf.write(f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; filename="{p.name}"\r\n'
                      f'Content-Type: application/octet-stream\r\n\r\n'.encode())
            buf.write(p.read_bytes())
            buf.write(b"\r\n")
        buf.write(f"--{boundary}--\r\n".encode())
        with self._request("POST", "/reconstruct", buf.getvalue(), f"multipart/form-data; boundary={boundary}",
                           timeout=30) as r:
            return json.loads(r.read().decode())

    def job(self, jid: str) -> dict:
        return self._json("GET", f"/jobs/{jid}")

    def cancel(self, jid: str) -> dict:
        return self._json("DELETE", f"/jobs/{jid}")

    def download_bundle(self, jid: str, folder: Path) -> Path:
        """Fetch the job's bundle zip and unpack it into `folder` (replaced)."""
        import shutil
        import tempfile

        with self._request("GET", f"/jobs/{jid}/bundle", timeout=60) as r:
            data = r.read()
        folder = Path(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                for m in z.namelist():
                    if m.startswith("/") or ".." in Path(m).parts:
                        raise BackendError(f"the bundle zip has an unsafe path: {m}")
                z.extractall(tmp)
            if folder.exists():
                shutil.rmtree(folder)
            publish(tmp, folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return folder

    def track(self, video: Path, bundle: Path, quality: str = "fast") -> dict:
        """Start tracking a video with the identity of an avatar bundle (both paths on the backend's
        machine: a video is read where it lies, never uploaded) -> the job's public state."""
        return self._json("POST", "/track", {"video": str(video), "bundle": str(bundle), "quality": quality},
                          timeout=30)

    def download_take(self, jid: str, path: Path) -> Path:
        """Fetch a finished track job's Live Link Face take into `path` (written whole, then renamed)."""
        import tempfile

        with self._request("GET", f"/jobs/{jid}/take", timeout=60) as r:
            data = r.read()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            publish(Path(tmp), path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return path

    def open_avatar(self, job: str | None = None, bundle: str | None = None) -> dict:
        payload = {"job": job} if job else {"bundle": str(bundle)}
        return self._json("POST", "/avatars", payload, timeout=30)

    def decode_normal(self, avatar: str, expression: dict, jaw: list[float], size: int = 1024):
        """-> (bytes of a (size, size, 4) uint8 normal map with opaque alpha, row 0 at v = 1, shape
        tuple): four channels, so Blender's pixels take it without a per-channel copy."""
        body = json.dumps({"expression": expression, "jaw": jaw, "size": size, "output": "normal_rgba"}).encode()
        with self._request("POST", f"/avatars/{avatar}/decode", body, "application/json", timeout=10) as r:
            shape = tuple(int(x) for x in r.headers["X-Shape"].split(","))
            return r.read(), shape
