"""Where a bundle may be written: checked before any work starts, so a wrong `-o` costs nothing
and never costs the user's data. A bundle replaces only an earlier bundle (a folder whose
bundle.json has this schema's version) or an empty folder; anything else is refused, or with
`force` moved aside (never deleted)."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from .io import BUNDLE_SCHEMA_VERSION
from .schema import BundleError


def _is_bundle(folder: Path) -> bool:
    try:
        meta = json.loads((folder / "bundle.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and meta.get("schema_version") == BUNDLE_SCHEMA_VERSION


def _writable_parent(out: Path) -> None:
    """The nearest existing ancestor of `out` must be a folder this user may write into."""
    p = out.parent
    while not p.exists():
        p = p.parent
    if not p.is_dir():
        raise BundleError(f"cannot write the bundle at {out}: {p} is a file, not a folder; choose another -o")
    if not os.access(p, os.W_OK | os.X_OK):
        raise BundleError(f"cannot write the bundle at {out}: {p} is not writable by you; choose another -o")


def check_bundle_target(out: str | Path, force: bool = False) -> Path | None:
    """Raises BundleError when `out` holds something that is not an earlier bundle (unless
    `force`), or cannot be written. With `force`, a non-bundle folder is renamed to
    OUT.replaced-<time> beside it; -> that path, else None."""
    try:
        out = Path(out).expanduser().absolute()
    except RuntimeError as e:   # '~someone' for a user that does not exist
        raise BundleError(f"-o {out}: {e}") from e
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise BundleError(f"{out} is a file or a link, not a bundle folder; choose another -o (nothing was changed)")
    _writable_parent(out)
    if not out.exists() or _is_bundle(out) or not any(out.iterdir()):
        if out.exists() and not os.access(out, os.W_OK | os.X_OK):
            raise BundleError(f"{out} is not writable by you; choose another -o")
        return None
    if not force:
        n = sum(1 for _ in out.iterdir())
        raise BundleError(f"{out} holds {n} item(s) that are not a Headsmith bundle; choose another -o, or "
                          "give --force to move that folder aside (it is renamed, never deleted)")
    aside = out.with_name(f"{out.name}.replaced-{time.strftime('%Y%m%d-%H%M%S')}")
    while aside.exists():
        aside = aside.with_name(aside.name + "-1")
    os.rename(out, aside)
    return aside
