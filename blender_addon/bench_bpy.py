"""The bpy half of benchmarks/bench_blender.py (run by it in its own process; not part of the
extension zip): rig build time, driver playback frame time, and the live wrinkle round trip
against the backend named by the token file. Prints one JSON object {measure: median ms}.

    python blender_addon/bench_bpy.py BUNDLE TOKEN_FILE [--runs 20]
"""
import argparse
import json
import os
import statistics
import time
from pathlib import Path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bundle", type=Path)
    ap.add_argument("token_file", type=Path)
    ap.add_argument("--runs", type=int, default=20)
    a = ap.parse_args()
    import bpy

    import headsmith_blender
    from headsmith_blender.core import background
    from headsmith_blender.ops import live
    from headsmith_blender.core.bundle import read_avatar
    from headsmith_blender.scene.materials import LIVE_PROP
    from headsmith_blender.scene.rig_builder import build_head

    rows = {}
    avatar = read_avatar(a.bundle)
    times = []
    for _ in range(5):
        bpy.ops.wm.read_factory_settings(use_empty=True)
        t = time.perf_counter()
        build_head(avatar, pack=False)
        times.append(time.perf_counter() - t)
    rows["bundle -> rig build (mesh, 52 keys, skin, materials, drivers)"] = statistics.median(times) * 1000

    bpy.ops.wm.read_factory_settings(use_empty=True)
    rig = build_head(avatar, pack=False)
    kb = rig.head.data.shape_keys.key_blocks
    for n in ("browInnerUp", "browOuterUpLeft", "browOuterUpRight", "mouthSmileLeft"):
        kb[n].value = 0.0
        kb[n].keyframe_insert("value", frame=1)
        kb[n].value = 1.0
        kb[n].keyframe_insert("value", frame=100)
    ft = []
    for f in range(1, 101):
        t = time.perf_counter()
        bpy.context.scene.frame_set(f)
        ft.append(time.perf_counter() - t)
    rows["playback frame_set with wrinkle drivers (median of 100)"] = statistics.median(ft) * 1000

    os.environ["HEADSMITH_TOKEN_FILE"] = str(a.token_file)
    headsmith_blender.register()
    try:
        bpy.ops.wm.read_factory_settings(use_empty=True)
        head = build_head(avatar, pack=False).head
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
            rows[f"live wrinkles round trip, {size} normal map (request -> image updated)"] = \
                statistics.median(rt[2:]) * 1000
            rows.update(_live_parts(head, size, a.runs))
    finally:
        headsmith_blender.unregister()
    print(json.dumps(rows))


def _live_parts(head, size: int, runs: int) -> dict:
    """The round trip's two halves on their own: the backend request (HTTP + decode + normal map)
    and writing the answer into the live image."""
    import numpy as np

    from headsmith_blender.ops import live
    from headsmith_blender.ops.operators import AVATAR_ID_PROP, make_client

    client, aid = make_client(timeout=5.0), head[AVATAR_ID_PROP]
    req, wr = [], []
    for i in range(runs + 2):
        t = time.perf_counter()
        data, shape = client.decode_normal(aid, {"browInnerUp": float(i % 2)}, [0.0, 0.0, 0.0], size)
        t1 = time.perf_counter()
        live.write_normal(live.live_image_of(head), np.frombuffer(data, np.uint8).reshape(shape))
        req.append(t1 - t)
        wr.append(time.perf_counter() - t1)
    return {f"  of which the backend request, {size}": statistics.median(req[2:]) * 1000,
            f"  of which writing the image, {size}": statistics.median(wr[2:]) * 1000}


if __name__ == "__main__":
    main()
