"""Atomic writes: every output is written beside its final path under a unique temporary name
and renamed into place, so a failed or interrupted run leaves the earlier file or folder as it was.
The one implementation the bundle, pictures, weights and the service's token file use."""
from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np


def umask() -> int:
    """The process's umask, read without changing it where the system tells (Linux), since
    os.umask() can only be read by setting it, which races with other threads."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


def user_mode(folder: bool = False) -> int:
    """The mode a new file (0666) or folder (0777) gets from the umask, as `open` and `mkdir` give
    it: temporaries are made private (0600 / 0700) and are given this mode before they are
    renamed into place, unless they are meant to stay private."""
    return (0o777 if folder else 0o666) & ~umask()


@contextmanager
def atomic_file(path: str | Path, suffix: str = ".tmp", private: bool = False) -> Iterator[Path]:
    """Yields a fresh temporary path in path's folder (created with O_EXCL, never a link); on a
    clean exit it replaces `path` with the user's normal file mode (0600 when `private`), on an
    error it is removed. `suffix` keeps an extension that a writer looks at (cv2, numpy)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o600 if private else user_mode())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: str | Path, data: bytes, private: bool = False) -> Path:
    with atomic_file(path, private=private) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def encode_png(img: np.ndarray) -> bytes:
    """(H, W, 3) RGB, (H, W, 4) RGBA or (H, W) grey, uint8 or uint16 -> PNG bytes."""
    import cv2

    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGBA2BGRA if img.shape[2] == 4 else cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".png", img)
    if not ok:
        raise OSError(f"could not encode a {img.shape} {img.dtype} image as PNG")
    return buf.tobytes()


def write_png_atomic(path: str | Path, img: np.ndarray) -> Path:
    """(H, W, 3) RGB or (H, W) grey -> PNG at path, atomically."""
    return write_bytes_atomic(path, encode_png(img))


@contextmanager
def atomic_folder(out: str | Path) -> Iterator[Path]:
    """Yields a fresh temporary folder beside `out`; on a clean exit it gets the user's normal
    folder mode and is swapped in for `out` (an existing `out` is moved aside first and restored
    if the swap fails), on an error it is removed and `out` is untouched."""
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        yield tmp
        os.chmod(tmp, user_mode(folder=True))
        backup = None
        if out.exists():
            backup = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.rmdir(backup)
            os.replace(out, backup)
        try:
            os.replace(tmp, out)
        except BaseException:
            if backup is not None:
                os.replace(backup, out)
            raise
        if backup is not None:   # what `out` was: a folder, or (damage) a file in its place
            shutil.rmtree(backup, ignore_errors=True) if backup.is_dir() else backup.unlink(missing_ok=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
