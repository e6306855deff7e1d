#!/usr/bin/env python3
"""Headsmith's one entry point for developers and first-time users (Linux, macOS, Windows).

    python3 dev.py demo     set up .venv on first use, then run the main job (reconstruct the sample
                            photo into out/demo/astronaut/, and the OpenHead contact sheet)
    python3 dev.py test     set up .venv on first use, then run the whole test suite, and the add-on's
                            tests again on bpy 4.2 (with pytest args: only those, on bpy 5.0)
    python3 dev.py test-oldest [ARGS]   pytest on the bpy 4.2 environment (default tests/blender_addon)
    python3 dev.py setup    only (re)create the environment
    python3 dev.py bench [SCRIPT]   run a benchmark (default benchmarks/bench_render.py)
    python3 dev.py addon [DIR]      build the Blender extension zip (default dist/)

Setup also makes .venv-bpy42 with bpy 4.2.0 (the oldest Blender the extension supports: the
.blend files the commands write are built with it, so they open in Blender 4.2 .. 5.x), and installs
the Khronos glTF validator (tools/gltf_validator) and three.js
(examples/threejs) with npm ci when Node.js is there, and Debian's chromium (apt-get, when run as
root) for the three.js engine tests.

The environment is re-installed when pyproject.toml changes (a hash is kept in .venv).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".headsmith-installed"
EXTRAS = "dev,blender,build,train"
# the oldest Blender the extension supports, in its own environment: `headsmith avatar` and
# `headsmith animate` build their .blend files with it (a file saved by bpy 5.0 opens only in
# Blender 4.5+), and the suite runs the extension's checks on it
OLDEST_BPY = "bpy==4.2.0"
NUMPY = "numpy==1.26.4"   # as pyproject.toml pins it
VENV_OLDEST = ROOT / ".venv-bpy42"


def venv_python(folder: Path = VENV) -> Path:
    return folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


NODE_FOLDERS = {  # npm projects the tests use: folder -> what for
    ROOT / "tools" / "gltf_validator": "the Khronos glTF validator (export tests)",
    ROOT / "examples" / "threejs": "three.js for the reference wrinkle page (engine tests)",
}


def setup_node_folders() -> None:
    """npm ci each NODE_FOLDERS project when Node.js is installed and its lock file changed."""
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        print("note: Node.js/npm not found; the glTF validation and three.js tests will be skipped", flush=True)
        return
    for folder, what in NODE_FOLDERS.items():
        lock = (folder / "package-lock.json").read_bytes()
        stamp = folder / "node_modules" / ".headsmith-lock"
        if stamp.exists() and stamp.read_bytes() == lock:
            continue
        print(f"installing {what} (npm ci in {folder.relative_to(ROOT)}) ...", flush=True)
        if subprocess.call([npm, "ci", "--no-audit", "--no-fund"], cwd=folder) != 0:
            sys.exit(f"npm ci failed in {folder.relative_to(ROOT)} (see npm's message above)")
        stamp.write_bytes(lock)


def setup_chromium() -> None:
    """Debian's chromium for the three.js tests, installed with apt-get when this runs as root on
    a machine that has apt-get; elsewhere a note (install chromium yourself; the tests skip)."""
    if shutil.which("chromium") or shutil.which("chromium-browser"):
        return
    apt = shutil.which("apt-get")
    if apt is None or not hasattr(os, "geteuid") or os.geteuid() != 0:
        print("note: chromium not found; the three.js engine tests will be skipped "
              "(on Debian/Ubuntu: sudo apt-get install chromium)", flush=True)
        return
    print("installing Debian's chromium for the three.js tests (apt-get) ...", flush=True)
    install = [apt, "install", "-y", "-q", "--no-install-recommends", "chromium"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if subprocess.call(install, env=env) != 0:
        subprocess.call([apt, "update", "-q"], env=env)
        if subprocess.call(install, env=env) != 0:
            sys.exit("apt-get could not install chromium (see its message above)")


def site_packages(python: Path) -> str:
    return subprocess.check_output([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                   text=True).strip()


def setup_oldest_bpy(main_python: Path, force: bool = False) -> None:
    """VENV_OLDEST with OLDEST_BPY and the main environment's numpy; it also sees the main
    environment's packages (a .pth after its own, so its bpy 4.2 wins), so that the add-on's tests run
    on it too (`dev.py test`)."""
    py = venv_python(VENV_OLDEST)
    stamp = VENV_OLDEST / ".headsmith-installed"
    wanted = f"{OLDEST_BPY} {NUMPY}"
    if force or not (py.exists() and stamp.exists() and stamp.read_text() == wanted):
        if not py.exists():
            venv.EnvBuilder(with_pip=True).create(VENV_OLDEST)
        print(f"installing {OLDEST_BPY} in {VENV_OLDEST.name} (the oldest Blender the extension supports) ...",
              flush=True)
        cmd = [str(py), "-m", "pip", "install", "--disable-pip-version-check", "-q", OLDEST_BPY, NUMPY]
        if subprocess.call(cmd) != 0:
            sys.exit(f"could not install {OLDEST_BPY} into {VENV_OLDEST} (see pip's message above)")
        stamp.write_text(wanted)
    link = Path(site_packages(py)) / "headsmith-main-venv.pth"
    line = f"import site; site.addsitedir({site_packages(main_python)!r})\n"
    if not link.exists() or link.read_text() != line:
        link.write_text(line)


def setup(force: bool = False) -> Path:
    if sys.version_info[:2] != (3, 11):
        sys.exit(f"Headsmith needs Python 3.11 (the bpy 5.0.1 wheel is cp311 only); this is "
                 f"{sys.version.split()[0]}. Run dev.py with a Python 3.11 interpreter.")
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    py = venv_python()
    setup_node_folders()
    setup_chromium()
    if not force and py.exists() and STAMP.exists() and STAMP.read_text() == digest:
        setup_oldest_bpy(py)
        return py
    if not py.exists():
        print(f"creating {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("installing Headsmith and its dependencies (first run: a few minutes) ...", flush=True)
    # torch is named in the same command so that nothing resolves a different torch build.
    cmd = [str(py), "-m", "pip", "install", "--disable-pip-version-check", "torch==2.13.0",
           "-e", f".[{EXTRAS}]"]
    if subprocess.call(cmd, cwd=ROOT) != 0:
        sys.exit("dependency installation failed (see pip's message above)")
    STAMP.write_text(digest)
    setup_oldest_bpy(py, force)
    return py


def run_tests(py: Path, args: list[str], env: dict) -> int:
    """The whole suite on bpy 5.0 (.venv), then the add-on's tests again on the oldest supported
    bpy (.venv-bpy42). With arguments: only pytest on .venv with them."""
    rc = subprocess.call([str(py), "-m", "pytest", *args], cwd=ROOT, env=env)
    if args:
        return rc
    print(f"\nthe add-on's tests on {OLDEST_BPY} ({VENV_OLDEST.name}) ...", flush=True)
    rc_oldest = subprocess.call([str(venv_python(VENV_OLDEST)), "-m", "pytest", "tests/blender_addon"], cwd=ROOT,
                                env=env)
    return rc or rc_oldest


def main(argv: list[str]) -> int:
    cmd = argv[0] if argv else "demo"
    rest = argv[1:]
    if cmd == "setup":
        setup(force=True)
        return 0
    py = setup()
    env = dict(os.environ)
    if cmd == "demo":
        return subprocess.call([str(py), "-m", "headsmith.cli", "demo", *rest], cwd=ROOT, env=env)
    if cmd == "test":
        return run_tests(py, rest, env)
    if cmd == "test-oldest":
        return subprocess.call([str(venv_python(VENV_OLDEST)), "-m", "pytest", *(rest or ["tests/blender_addon"])],
                               cwd=ROOT, env=env)
    if cmd == "addon":
        return subprocess.call([str(py), "blender_addon/package_extension.py", *(rest or ["dist"])], cwd=ROOT,
                               env=env)
    if cmd == "bench":
        return subprocess.call([str(py), *(rest or ["benchmarks/bench_render.py"])], cwd=ROOT, env=env)
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
