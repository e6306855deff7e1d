"""Blender-side benchmark (bpy wheel, this machine): bundle -> rig build time, the live wrinkle
round trip (shape key change -> backend decode on loopback -> image pixels updated), and the
frame time of playback with the baked wrinkle drivers.

    .venv/bin/python benchmarks/bench_blender.py [--bundle BUNDLE] [--runs 20]

Without --bundle, the sample photo is reconstructed (fast quality) and its wrinkle maps baked first.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "blender_addon"))
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

    import bpy

    import headsmith_blender
    from headsmith_blender import background, live
    from headsmith_blender.bundle_data import read_avatar
    from headsmith_blender.materials import LIVE_PROP
    from headsmith_blender.rig_builder import build_head

    from headsmith.service import ServiceSettings
    from headsmith.service.app import write_token_file
    from headsmith.service.local import serve_in_thread

    rows = []
    avatar = read_avatar(bundle)
    times = []
    for _ in range(5):
        bpy.ops.wm.read_factory_settings(use_empty=True)
        t = time.perf_counter()
        build_head(avatar, pack=False)
        times.append(time.perf_counter() - t)
    rows.append(("bundle -> rig build (mesh, 52 keys, skin, materials, drivers)", statistics.median(times) * 1000, "ms"))

    # playback with the wrinkle drivers: brows keyframed 0 -> 1 over 100 frames
    bpy.ops.wm.read_factory_settings(use_empty=True)
    rig = build_head(avatar, pack=False)
    kb = rig.head.data.shape_keys.key_blocks
    for n in ("browInnerUp", "browOuterUpLeft", "browOuterUpRight", "mouthSmileLeft"):
        kb[n].value = 0.0
        kb[n].keyframe_insert("value", frame=1)
        kb[n].value = 1.0
        kb[n].keyframe_insert("value", frame=100)
    scene = bpy.context.scene
    ft = []
    for f in range(1, 101):
        t = time.perf_counter()
        scene.frame_set(f)
        ft.append(time.perf_counter() - t)
    rows.append(("playback frame_set with wrinkle drivers (median of 100)", statistics.median(ft) * 1000, "ms"))

    # live round trip against the real service on loopback
    headsmith_blender.register()
    try:
        s = ServiceSettings(jobs_root=tmp / "jobs")
        with serve_in_thread(s) as port:
            tf = tmp / "service.json"
            write_token_file(tf, f"http://127.0.0.1:{port}", s.token)
            os.environ["HEADSMITH_TOKEN_FILE"] = str(tf)
            bpy.ops.wm.read_factory_settings(use_empty=True)
            headsmith_blender.preferences.register_props()
            rig = build_head(avatar, pack=False)
            head = rig.head
            head[LIVE_PROP] = 1
            st = bpy.context.scene.headsmith
            for size in (1024, 512):
                os.environ["HEADSMITH_LIVE_SIZE"] = str(size)
                rt = []
                for i in range(a.runs + 2):
                    head.data.shape_keys.key_blocks["browInnerUp"].value = (i % 2) * 1.0
                    n = st.live_updates
                    t = time.perf_counter()
                    live.request_update(head)
                    while st.live_updates == n:
                        background.drain()
                        time.sleep(0.001)
                    rt.append(time.perf_counter() - t)
                rows.append((f"live wrinkles round trip, {size} normal map (request -> image updated)",
                             statistics.median(rt[2:]) * 1000, "ms"))
    finally:
        headsmith_blender.unregister()

    print(f"machine: {machine()}")
    print(f"{'measure':<75} {'median':>9}")
    for name, v, unit in rows:
        print(f"{name:<75} {v:>6.1f} {unit}")
    print(json.dumps({r[0]: round(r[1], 2) for r in rows}))


if __name__ == "__main__":
    main()
