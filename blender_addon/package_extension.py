"""Build the installable extension zip (manifest at the zip root, as Blender expects):

    python blender_addon/package_extension.py [DEST_DIR]      -> DEST_DIR/headsmith_blender-<version>.zip

(`python3 dev.py addon` runs this.) Install it in Blender with Edit > Preferences > Get Extensions >
Install from Disk, or `blender --command extension install-file -r user_default -e ZIP`.
"""
from __future__ import annotations

import os
import re
import sys
import tempfile
import zipfile
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent / "headsmith_blender"


def version() -> str:
    m = re.search(r'^version\s*=\s*"([^"]+)"', (PACKAGE / "blender_manifest.toml").read_text(), re.M)
    return m.group(1)


def build_zip(dest: Path) -> Path:
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    out = dest / f"headsmith_blender-{version()}.zip"
    fd, tmp = tempfile.mkstemp(suffix=".zip", dir=dest)
    os.close(fd)
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(PACKAGE.rglob("*")):
            if f.is_file() and "__pycache__" not in f.parts and f.suffix != ".pyc":
                z.write(f, f.relative_to(PACKAGE).as_posix())
    os.replace(tmp, out)
    return out


if __name__ == "__main__":
    print(build_zip(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("dist")))
