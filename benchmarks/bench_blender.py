"""Blender-side benchmark (bpy wheel, this machine): bundle -> rig build time, the live wrinkle
round trip (shape key change -> backend decode on loopback -> image pixels updated), and the
frame time of playback with the baked wrinkle drivers.

    .venv/bin/python benchmarks/bench_blender.py [--bundle BUNDLE] [--runs 20]

Without --bundle, the sample photo is reconstructed (fast quality) and its wrinkle maps baked first.
The backend runs in this process; the Blender measurements run in their own process
(blender_addon/bench_bpy.py), as in Blender, where torch never runs.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_render import machine  # noqa: E402


def sample_bundle(tmp: Path) -> Path:
    import skimage.data
    from PIL import Image

    from headsmith.cli import main

    photo = tmp / "astronaut.png"
    Image.fromarray(skimage.data.astronaut()).save(photo)
    out = tmp / "bundle"
    assert main(["reconstruct", str(photo), "-o", str(out), "--quality", "fast"]) == 0
    assert main(["wrinkles", str(out)]) == 0
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bundle", type=Path)
    ap.add_argument("--runs", type=int, default=20)
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="headsmith-bench-"))
    bundle = a.bundle or sample_bundle(tmp)

    from headsmith.service import ServiceSettings
    from headsmith.service.app import write_token_file
    from headsmith.service.local import serve_in_thread

    s = ServiceSettings(jobs_root=tmp / "jobs")
    with serve_in_thread(s) as port:
        token_file = tmp / "service.json"
        write_token_file(token_file, f"http://127.0.0.1:{port}", s.token)
        p = subprocess.run([sys.executable, str(ROOT / "blender_addon" / "bench_bpy.py"), str(bundle),
                            str(token_file), "--runs", str(a.runs)], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(p.stderr[-2000:])
    rows = json.loads(p.stdout.strip().splitlines()[-1])
    print(f"machine: {machine()}")
    print(f"{'measure':<75} {'median':>9}")
    for name, ms in rows.items():
        print(f"{name:<75} {ms:>6.1f} ms")


if __name__ == "__main__":
    main()
