"""The bpy half of `headsmith animate`, run as its own process (numpy and bpy only):

    python -m headsmith_blender.headless_animate BUNDLE TAKE.csv OUT [--start-frame N] [--scene-rate FPS]
        [--preview N --renders NPZ]

Reads and checks the take first (a bad take: exit 2, nothing written), builds the head from the
bundle, keys the take (scene.animation.apply_take) and writes OUT/STEM.blend and OUT/STEM.glb (with
its wrinkle sidecar and folder) atomically, STEM being the take's file name; with --preview, N
frames spread over the take rendered (labels, images) into NPZ for the caller's contact sheet.
The last stdout line is a JSON summary.
"""
import argparse
import json
import sys
from pathlib import Path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="headsmith_blender.headless_animate")
    ap.add_argument("bundle", type=Path)
    ap.add_argument("take", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--start-frame", type=int, default=1)
    ap.add_argument("--scene-rate", type=int, help="keep this scene frame rate instead of the take's")
    ap.add_argument("--preview", type=int, default=0, help="render this many frames of the take")
    ap.add_argument("--renders", type=Path, help="where the preview renders go (NPZ)")
    a = ap.parse_args(argv)
    import bpy

    from .core.bundle import BundleError, read_avatar
    from .core.live_link import LiveLinkError, read_live_link
    from .scene.animation import apply_take
    from .scene.export import export_glb, save_blend
    from .scene.rig_builder import build_head

    try:
        take = read_live_link(a.take)
        avatar = read_avatar(a.bundle)
    except (LiveLinkError, BundleError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    bpy.ops.wm.read_factory_settings(use_empty=True)
    if a.scene_rate:
        bpy.context.scene.render.fps, bpy.context.scene.render.fps_base = a.scene_rate, 1.0
    avatar.name = "avatar"
    rig = build_head(avatar)
    summary = apply_take(rig, take, a.take.stem, a.start_frame, use_take_rate=not a.scene_rate)
    a.out.mkdir(parents=True, exist_ok=True)
    export_glb(rig, a.out / f"{a.take.stem}.glb")
    save_blend(a.out / f"{a.take.stem}.blend")
    if a.preview and a.renders:
        import numpy as np

        from .scene.preview import render_frames, write_renders

        first, last = int(summary["frames"][0]), int(np.ceil(summary["frames"][1]))
        frames = sorted({int(round(f)) for f in np.linspace(first, last, a.preview)})
        write_renders(render_frames(rig, frames), a.renders)
    summary["notes"] = take.notes
    summary["blender"] = bpy.app.version_string
    summary["files"] = [f"{a.take.stem}.blend", f"{a.take.stem}.glb"]
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    from .core.process_exit import exit_now

    exit_now(main())
