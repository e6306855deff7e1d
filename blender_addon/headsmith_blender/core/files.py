"""Files the extension writes (no bpy): made under a private temporary name, then given the
user's normal mode (what `open`/`mkdir` give under the umask) before they are renamed into
place, as Blender's own .blend saves are. The backend's headsmith.atomic does the same on its
side; the extension cannot import it (Blender has no backend)."""
from __future__ import annotations

import os
from pathlib import Path


def umask() -> int:
    """The umask, read without setting it where the system tells (Linux): os.umask() can only be
    read by setting it, which races with Blender's other threads."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


def publish(tmp: Path, final: Path) -> None:
    """Give a finished temporary file or folder the user's normal mode and rename it to `final`."""
    os.chmod(tmp, (0o777 if Path(tmp).is_dir() else 0o666) & ~umask())
    os.replace(tmp, final)
