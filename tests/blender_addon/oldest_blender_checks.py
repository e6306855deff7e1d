"""Run by the oldest supported Blender's Python (bpy 4.2, .venv-bpy42) from test_oldest_blender.py:
the extension's core behaviours there. Prints one JSON object of findings.

    python oldest_blender_checks.py BLEND TAKE.csv OUT_DIR
"""
import json
import sys
from pathlib import Path


def main() -> None:
    import bpy

    from headsmith_blender.core.live_link import read_live_link
    from headsmith_blender.scene.animation import apply_take
    from headsmith_blender.scene.export import export_fbx, export_glb
    from headsmith_blender.scene.materials import wrinkle_weight_nodes
    from headsmith_blender.scene.rig_builder import rig_of

    blend, take_path, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    head = next(o for o in bpy.data.objects if o.type == "MESH" and o.data.shape_keys is not None)
    rig = rig_of(head)
    found = {"blender": bpy.app.version_string, "file_version": list(bpy.data.version),
             "objects": sorted(o.name for o in bpy.data.objects),
             "shape_keys": len(head.data.shape_keys.key_blocks) - 1,
             "bones": sorted(b.name for b in rig.armature.data.bones),
             "image_paths": sorted(i.filepath for i in bpy.data.images if i.filepath)}
    weights = wrinkle_weight_nodes(rig.materials["Skin"])
    w = weights[("forehead.L", "brows_up")].outputs[0]
    found["weight_at_rest"] = w.default_value
    head.data.shape_keys.key_blocks["browInnerUp"].value = 1.0
    bpy.context.view_layer.update()
    found["weight_brows_up"] = w.default_value
    head.data.shape_keys.key_blocks["browInnerUp"].value = 0.0
    res = apply_take(rig, read_live_link(take_path), "take")
    bpy.context.scene.frame_set(46)
    action = head.data.shape_keys.animation_data.action
    found["take"] = {"rows": res["rows"], "browInnerUp_at_46": head.data.shape_keys.key_blocks["browInnerUp"].value,
                     "weight_at_46": w.default_value, "curves": len(action.fcurves),
                     "keys_per_curve": sorted({len(fc.keyframe_points) for fc in action.fcurves})}
    found["glb"] = str(export_glb(rig, out / "oldest.glb"))
    found["fbx"] = str(export_fbx(rig, out / "oldest.fbx"))
    print(json.dumps(found))


if __name__ == "__main__":
    from headsmith_blender.core.process_exit import exit_now

    main()
    exit_now(0)
