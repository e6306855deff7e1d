"""The head panel an animator uses (issue 22, item 4): folding sub-panels per face area, one jaw
control, presets and reset that move the wrinkles, and one key on every face control. The panels'
draw code runs on a recording layout (no window in the bpy wheel), which also draws panel.png."""
import pytest


@pytest.fixture
def head(registered_head):
    return registered_head


def test_presets_reset_and_key_face(head):
    import bpy

    from headsmith_blender.scene.materials import wrinkle_weight_nodes

    kb = head.head.data.shape_keys.key_blocks
    w = wrinkle_weight_nodes(head.materials["Skin"])[("forehead.L", "brows_up")].outputs[0]
    from headsmith_blender.core.expression_presets import PRESETS
    from headsmith_blender.scene.face_controls import set_expression

    assert set_expression(head, PRESETS["anger"]) == len(PRESETS["anger"])
    assert bpy.ops.headsmith.expression_preset(preset="surprise") == {"FINISHED"}
    assert kb["browInnerUp"].value == pytest.approx(0.9) and kb["jawOpen"].value == pytest.approx(0.35)
    assert w.default_value > 0.3
    assert bpy.ops.headsmith.expression_preset(preset="smile") == {"FINISHED"}
    assert kb["browInnerUp"].value == 0.0 and kb["mouthSmileLeft"].value == pytest.approx(0.8)
    head.armature.pose.bones["head"].rotation_euler[1] = 0.3
    assert bpy.ops.headsmith.expression_preset(preset="reset") == {"FINISHED"}
    assert all(k.value == 0.0 for k in kb[1:]) and tuple(head.armature.pose.bones["head"].rotation_euler) == (0, 0, 0)
    bpy.context.view_layer.update()
    assert w.default_value == pytest.approx(0.0, abs=1e-6)   # bpy 4.2's drivers leave ~1e-10
    bpy.context.scene.frame_set(12)
    assert bpy.ops.headsmith.key_face() == {"FINISHED"}
    action = head.head.data.shape_keys.animation_data.action
    assert action is not None and "Keyed 57 face controls at frame 12" in bpy.context.scene.headsmith.status


def test_sub_panels_fold_and_jaw_is_one_control(head):
    import bpy

    from headsmith_blender.ui import panel

    subs = [c for c in panel.CLASSES if getattr(c, "bl_parent_id", "") == "HEADSMITH_PT_head"]
    assert {c.bl_label for c in subs} >= {"Brows", "Eyes", "Mouth", "Jaw & tongue", "Head & eyes"}
    assert all("DEFAULT_CLOSED" in c.bl_options for c in subs)
    assert all(hasattr(bpy.types, c.__name__) for c in subs)           # registered
    jaw_area = next(c for c in subs if c.bl_label == "Jaw & tongue")
    names = [k.name for k in panel.face_area_keys(head.head, jaw_area.prefixes)]
    assert "jawOpen" not in names and "jawForward" in names
    sliders = sum(len(panel.face_area_keys(head.head, c.prefixes)) for c in subs if hasattr(c, "prefixes"))
    assert sliders == 51                                               # 52 keys, jawOpen on the head panel


def test_panels_draw_on_a_recording_layout(head):
    """Every panel's draw() runs against the real head (the picture's recorder stands in for the
    window's layout): the head panel shows one jaw control and the presets, a folded area nothing."""
    import sys
    from pathlib import Path

    import bpy

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "blender_addon"))
    from panel_picture import paint, record_panels

    bpy.ops.headsmith.expression_preset(preset="smile")
    panels = {label: (folded, lines) for label, _, folded, lines in record_panels(bpy.context, {"Mouth"})}
    head_lines = [(k, t) for k, t, _, _ in panels["Head"][1]]
    assert [t for k, t in head_lines if t == "Jaw open"] == ["Jaw open"]
    assert ("button", "Smile") in head_lines and ("button", "Key Face") in head_lines
    mouth = {t: v for k, t, v, _ in panels["Mouth"][1]}
    assert mouth["mouthSmileLeft"] == pytest.approx(0.8)
    assert panels["Eyes"] == (True, [])
    assert paint(record_panels(bpy.context, set())).shape[1] == 420
