"""The bpy half of `headsmith avatar`, run as its own process (no torch here; numpy and bpy only):

    python -m headsmith_blender.headless BUNDLE OUT [--samples N] [--size PX] [--renders NPZ | --no-render]

Builds the head with the extension's builder and writes OUT/avatar.blend, OUT/avatar.glb (with
OUT/avatar_wrinkles/ and OUT/avatar.wrinkles.json) and OUT/avatar.fbx, each atomically, and the
pose renders as NPZ (labels, (N, size, size, 3) uint8 sRGB; default OUT/.avatar_renders.npz) for the
caller to lay out as avatar.png. The last stdout line is a JSON summary (timings in seconds, counts).
"""
import argparse
import json
import sys
import time
from pathlib import Path


RENDERS = ".avatar_renders.npz"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="headsmith_blender.headless")
    ap.add_argument("bundle", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--renders", type=Path, help="where the pose renders go (default OUT/" + RENDERS + ")")
    ap.add_argument("--no-render", action="store_true")
    a = ap.parse_args(argv)
    import bpy

    from .core.bundle import BundleError, read_avatar
    from .scene.export import export_fbx, export_glb, save_blend
    from .scene.rig_builder import build_head

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
        from .scene.preview import closeups_for, render_poses, write_renders

        t = time.perf_counter()
        closeups = closeups_for(rig, avatar.wrinkles) if avatar.wrinkles is not None else None
        write_renders(render_poses(rig, size=a.size, samples=a.samples, closeups=closeups),
                      a.renders or a.out / RENDERS)
        timings["render"] = time.perf_counter() - t
    save_blend(a.out / "avatar.blend")
    skin = rig.materials["Skin"].node_tree.animation_data
    summary = {"timings_s": timings, "shape_keys": len(rig.head.data.shape_keys.key_blocks) - 1,
               "bones": [b.name for b in rig.armature.data.bones],
               "wrinkle_drivers": len(skin.drivers) if skin else 0, "blender": bpy.app.version_string}
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    from .core.process_exit import exit_now

    exit_now(main())
