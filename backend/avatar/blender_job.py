"""The bpy half of `headsmith avatar`, run as its own process (no torch here):

    python -m headsmith.avatar.blender_job BUNDLE OUT [--samples N] [--size PX] [--no-render]

Builds the head with the extension's builder and writes OUT/avatar.blend, OUT/avatar.glb (with
OUT/avatar_wrinkles/ and OUT/avatar.wrinkles.json), OUT/avatar.fbx and OUT/avatar.png, each
atomically. The last stdout line is a JSON summary (timings in seconds, counts).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

PICTURE_LABELS = ("neutral", "smile", "brows up", "jaw open")


def compose(renders: dict) -> np.ndarray:
    """Renders side by side with labels, and below them the forehead of each at twice the size,
    where the expression lines show. -> (H, W, 3) uint8 RGB."""
    import cv2

    tiles, crops = [], []
    for label in PICTURE_LABELS:
        img = renders[label].copy()
        s = img.shape[0]
        cv2.putText(img, label, (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (255, 255, 255), 2, cv2.LINE_AA)
        tiles.append(img)
        c = renders[label][int(0.02 * s):int(0.27 * s), int(0.25 * s):int(0.75 * s)]
        c = cv2.resize(c, (s, s // 2), interpolation=cv2.INTER_CUBIC)
        cv2.putText(c, f"{label}: forehead x2", (10, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2,
                    cv2.LINE_AA)
        crops.append(c)
    return np.concatenate([np.concatenate(tiles, 1), np.concatenate(crops, 1)], 0)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="headsmith.avatar.blender_job")
    ap.add_argument("bundle", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--no-render", action="store_true")
    a = ap.parse_args(argv)
    import bpy

    from headsmith_blender.bundle_data import BundleError, read_avatar
    from headsmith_blender.export import export_fbx, export_glb
    from headsmith_blender.rig_builder import build_head

    timings = {}
    bpy.ops.wm.read_factory_settings(use_empty=True)
    try:
        avatar = read_avatar(a.bundle)
    except BundleError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    avatar.name = "avatar"
    a.out.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    rig = build_head(avatar)
    timings["build_rig"] = time.perf_counter() - t
    t = time.perf_counter()
    export_glb(rig, a.out / "avatar.glb")
    export_fbx(rig, a.out / "avatar.fbx")
    timings["export"] = time.perf_counter() - t
    if not a.no_render:
        import cv2

        from headsmith_blender.preview import render_poses

        t = time.perf_counter()
        pic = compose(render_poses(rig, size=a.size, samples=a.samples))
        tmp = a.out / ".avatar.png.tmp.png"
        cv2.imwrite(str(tmp), cv2.cvtColor(pic, cv2.COLOR_RGB2BGR))
        os.replace(tmp, a.out / "avatar.png")
        timings["render"] = time.perf_counter() - t
    tmp = a.out / ".avatar.tmp.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp), compress=True)
    os.replace(tmp, a.out / "avatar.blend")
    summary = {"timings_s": timings, "shape_keys": len(rig.head.data.shape_keys.key_blocks) - 1,
               "bones": [b.name for b in rig.armature.data.bones],
               "wrinkle_drivers": len(rig.materials["Skin"].node_tree.animation_data.drivers)
               if rig.materials["Skin"].node_tree.animation_data else 0}
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
