"""Issue 22, item 1: a Live Link Face take (the app's CSV layout, written by the test) keyed onto the
sample head through the extension's operator: one key per row, the wrinkles follow browInnerUp,
the head and eyes turn, the glb carries the animation, and a bad file changes nothing."""
import json
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from tests.blender_addon.conftest import action_fcurves
from tests.blender_addon.core.test_live_link import make_take

VALIDATOR = Path(__file__).resolve().parents[2] / "tools" / "gltf_validator"


@pytest.fixture
def head(registered_head):
    return registered_head


def _import(bpy, path, **kw):
    return bpy.ops.headsmith.import_live_link(filepath=str(path), **kw)


def test_take_keys_shape_keys_bones_and_wrinkles(head, tmp_path):
    import bpy

    from headsmith_blender.core.live_link import write_live_link
    from headsmith_blender.scene.materials import wrinkle_weight_nodes

    take = make_take(rows=90, rate=60)
    path = write_live_link(tmp_path / "smile_take.csv", take)
    assert _import(bpy, path, start_frame=1) == {"FINISHED"}
    scene = bpy.context.scene
    assert scene.render.fps == 60 and (scene.frame_start, scene.frame_end) == (1, 90)
    keys = head.head.data.shape_keys
    fcurves = {fc.data_path: fc for fc in action_fcurves(keys)}
    assert len(fcurves) == 52
    assert all(len(fc.keyframe_points) == take.rows for fc in fcurves.values())
    weight = wrinkle_weight_nodes(head.materials["Skin"])[("forehead.L", "brows_up")].outputs[0]
    scene.frame_set(1 + 10)                                  # row 10: brows at rest
    assert keys.key_blocks["browInnerUp"].value == pytest.approx(0.0) and weight.default_value == 0.0
    scene.frame_set(1 + 45)                                  # row 45: browInnerUp keyed at 1
    assert keys.key_blocks["browInnerUp"].value == pytest.approx(1.0)
    assert weight.default_value > 0.3
    assert keys.key_blocks["jawOpen"].value == pytest.approx(take.curves["jawOpen"][45], abs=1e-5)
    pb = head.armature.pose.bones
    assert tuple(pb["head"].rotation_euler) == pytest.approx((-take.head[45, 1], take.head[45, 0], -take.head[45, 2]),
                                                             abs=1e-5)
    assert pb["eye.L"].rotation_euler[2] == pytest.approx(0.2, abs=1e-5)


def test_exported_glb_carries_the_animation(head, tmp_path):
    import bpy

    from headsmith_blender.core.live_link import write_live_link
    from headsmith_blender.scene.export import export_glb

    assert _import(bpy, write_live_link(tmp_path / "take.csv", make_take(rows=30))) == {"FINISHED"}
    glb = export_glb(head, tmp_path / "animated.glb")
    b = glb.read_bytes()
    j = json.loads(b[20:20 + struct.unpack("<I", b[12:16])[0]])
    paths = {(j["nodes"][c["target"]["node"]]["name"], c["target"]["path"]) for a in j["animations"]
             for c in a["channels"]}
    assert ("head", "rotation") in paths and ("eye.L", "rotation") in paths
    assert any(p == "weights" for _, p in paths)
    # Blender's own importer reads the animation back: shape-key and bone actions
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.import_scene.gltf(filepath=str(glb))
    mesh = next(o for o in bpy.data.objects if o.type == "MESH" and o.data.shape_keys is not None)
    arm = next(o for o in bpy.data.objects if o.type == "ARMATURE")

    def actions(ad):   # the importer puts an animation on the active action or in NLA strips
        return [a for a in [ad.action] + [st.action for tr in ad.nla_tracks for st in tr.strips] if a is not None]

    assert actions(mesh.data.shape_keys.animation_data) and actions(arm.animation_data), \
        [(a.name, a.users) for a in bpy.data.actions]
    if shutil.which("node") and (VALIDATOR / "node_modules" / "gltf-validator").is_dir():
        p = subprocess.run(["node", str(VALIDATOR / "validate.js"), str(glb)], capture_output=True, text=True,
                           timeout=120)
        report = json.loads(p.stdout)
        assert report["issues"]["numErrors"] == 0, report["issues"]["messages"][:5]
        assert report["info"]["animationCount"] >= 1


def test_bad_take_changes_nothing(head, tmp_path):
    import bpy

    from headsmith_blender.core.live_link import write_live_link

    lines = write_live_link(tmp_path / "good.csv", make_take(rows=10)).read_text().splitlines()
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines[:4] + [lines[4].replace("0.000000", "nan", 1)] + lines[5:]) + "\n")
    fps, actions = bpy.context.scene.render.fps, len(bpy.data.actions)
    with pytest.raises(RuntimeError, match="line 5"):
        _import(bpy, bad)
    assert head.head.data.shape_keys.animation_data is None and head.armature.animation_data is None
    assert len(bpy.data.actions) == actions and bpy.context.scene.render.fps == fps
    assert "unchanged" in bpy.context.scene.headsmith.status
