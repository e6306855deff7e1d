"""The rig built from a real bundle (the sample photo, fast quality, with its wrinkle maps) in the
bpy wheel: objects, bones, skinning, shape keys, materials, and drivers that move the wrinkle
blend weights with keyframed expressions."""
import numpy as np
import pytest

from headsmith_blender.core.bundle import MATERIAL_SLOTS, driver_specs, to_blender


@pytest.fixture
def rig(empty_scene, avatar):
    from headsmith_blender.scene.rig_builder import build_head

    return build_head(avatar, pack=False)


def _evaluated(bpy, obj):
    bpy.context.view_layer.update()
    ev = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
    me = ev.to_mesh()
    co = np.empty(len(me.vertices) * 3, np.float32)
    me.vertices.foreach_get("co", co)
    ev.to_mesh_clear()
    return co.reshape(-1, 3)


def test_objects_bones_and_skinning(rig, avatar):
    import bpy

    head, arm = rig.head, rig.armature
    assert head.parent == arm and head.modifiers["Armature"].object == arm
    assert [b.name for b in arm.data.bones] == ["root", "neck", "head", "jaw", "eye.L", "eye.R"]
    assert arm.data.bones["jaw"].parent.name == "head" and arm.data.bones["neck"].parent.name == "root"
    assert len(head.data.vertices) == len(avatar.rig["vertices"])
    assert np.allclose(_evaluated(bpy, head), to_blender(avatar.rig["vertices"]), atol=1e-6)
    # every vertex's group weights are the rig's skinning weights
    W = avatar.rig["skin_weights"]
    names = [g.name for g in head.vertex_groups]
    for vi in (0, len(W) // 3, len(W) - 1):
        got = {names[g.group]: g.weight for g in head.data.vertices[vi].groups}
        for j, n in enumerate(avatar.rig["joint_names"]):
            assert got.get(str(n), 0.0) == pytest.approx(W[vi, j], abs=1e-4)


def test_jaw_bone_opens_the_mouth(rig, avatar):
    import bpy

    rest = _evaluated(bpy, rig.head)
    rig.armature.pose.bones["jaw"].rotation_euler[0] = 0.3
    moved = _evaluated(bpy, rig.head) - rest
    jaw = avatar.rig["skin_weights"][:, list(avatar.rig["joint_names"]).index("jaw")] > 0.9
    chin = jaw & (rest[:, 2] < np.percentile(rest[jaw, 2], 10))
    # the chin swings by centimetres, and downwards: the mouth opens (how much of the swing is
    # downward depends on the fitted chin's place below the joint)
    assert np.linalg.norm(moved[chin], axis=1).mean() > 0.015
    assert moved[chin, 2].mean() < -0.005
    assert np.abs(moved[~(avatar.rig["skin_weights"][:, 3] > 0)]).max() < 1e-6   # no jaw weight: still


def test_shape_keys_are_the_expressions(rig, avatar):
    import bpy

    keys = rig.head.data.shape_keys.key_blocks
    names = [str(n) for n in avatar.rig["expression_names"]]
    assert [k.name for k in keys[1:]] == names and len(names) == 52
    assert {"jawOpen", "browInnerUp", "mouthSmileLeft", "eyeBlinkRight", "tongueOut"} <= set(names)
    rest = _evaluated(bpy, rig.head)
    keys["browInnerUp"].value = 0.5
    d = _evaluated(bpy, rig.head) - rest
    want = 0.5 * to_blender(avatar.rig["expression_deltas"][names.index("browInnerUp")])
    assert np.abs(d - want).max() < 1e-5 and np.abs(want).max() > 1e-3


def test_material_slots_follow_the_parts(rig, avatar):
    mats = [m.name.rsplit(" ", 1)[-1] for m in rig.head.data.materials]
    assert mats == list(MATERIAL_SLOTS)
    slots = np.empty(len(rig.head.data.polygons), np.int32)
    rig.head.data.polygons.foreach_get("material_index", slots)
    parts = [str(p) for p in avatar.rig["part_names"]]
    for f in (0, len(slots) // 2, len(slots) - 1):
        part = parts[avatar.rig["face_part"][f]]
        assert part in MATERIAL_SLOTS[mats[slots[f]]]
    skin = rig.materials["Skin"].node_tree
    imgs = {n.image.name for n in skin.nodes if n.bl_idname == "ShaderNodeTexImage"}
    assert any("albedo" in i for i in imgs) and any("normal.png" in i for i in imgs)
    assert any("mask_forehead" in i for i in imgs) and any("wrinkle_brows_up" in i for i in imgs)


def test_skin_scatters_and_its_roughness_comes_from_the_map(rig, avatar):
    from headsmith_blender.scene.materials import ROUGHNESS_NODE

    def bsdf(slot):
        return next(n for n in rig.materials[slot].node_tree.nodes if n.bl_idname == "ShaderNodeBsdfPrincipled")

    skin = bsdf("Skin")
    assert skin.subsurface_method == "BURLEY" and skin.inputs["Subsurface Weight"].default_value > 0.5
    r = skin.inputs["Subsurface Radius"].default_value
    mm = [c * skin.inputs["Subsurface Scale"].default_value * 1000 for c in r]
    assert mm[0] > mm[1] > mm[2] and 1 < mm[0] < 10             # red scatters furthest, millimetres
    link = skin.inputs["Roughness"].links[0]
    assert link.from_node.bl_idname == "ShaderNodeSeparateColor" and link.from_socket.name == "Green"
    tex = link.from_node.inputs["Color"].links[0].from_node
    assert tex.name == ROUGHNESS_NODE and tex.image.filepath.endswith("roughness.png")
    assert tex.image.colorspace_settings.name == "Non-Color"
    assert bsdf("Eyes").inputs["Coat Weight"].default_value > 0.5     # wet


def test_keyframed_expression_moves_the_wrinkle_weights(rig, avatar):
    import bpy

    from headsmith_blender.scene.materials import wrinkle_weight_nodes

    nodes = wrinkle_weight_nodes(rig.materials["Skin"])
    specs = {(s.region, s.key): s for s in driver_specs(avatar.wrinkles)}
    assert set(nodes) == set(specs) and ("forehead.L", "brows_up") in nodes
    kb = rig.head.data.shape_keys.key_blocks
    scene = bpy.context.scene
    for name in ("browInnerUp", "browOuterUpLeft", "browOuterUpRight"):
        kb[name].value = 0.0
        kb[name].keyframe_insert("value", frame=1)
        kb[name].value = 1.0
        kb[name].keyframe_insert("value", frame=20)
    scene.frame_set(1)
    w1 = nodes[("forehead.L", "brows_up")].outputs[0].default_value
    scene.frame_set(20)
    w20 = nodes[("forehead.L", "brows_up")].outputs[0].default_value
    assert w20 > w1 + 0.5, (w1, w20)
    # every driver computes its documented formula (the glTF sidecar's)
    values = {k.name: k.value for k in kb[1:]}
    for key, node in nodes.items():
        assert node.outputs[0].default_value == pytest.approx(specs[key].evaluate(values, 0.0), abs=1e-4)
    # the jaw bone drives the keys the jaw opens (the nasolabial fold's)
    jaw_nodes = [k for k in nodes if specs[k].jaw_coef]
    assert jaw_nodes
    rig.armature.pose.bones["jaw"].rotation_euler[0] = 0.3
    bpy.context.view_layer.update()
    for k in jaw_nodes:
        assert nodes[k].outputs[0].default_value == pytest.approx(specs[k].evaluate(values, 0.3), abs=1e-4)


def test_true_displacement_option(empty_scene, avatar):
    from headsmith_blender.scene.materials import DISPLACEMENT_NODE
    from headsmith_blender.scene.rig_builder import build_head

    rig = build_head(avatar, pack=False, true_displacement=True)
    mat = rig.materials["Skin"]
    out = next(n for n in mat.node_tree.nodes if n.bl_idname == "ShaderNodeOutputMaterial")
    assert out.inputs["Displacement"].links[0].from_node.name == DISPLACEMENT_NODE
    assert mat.displacement_method == "DISPLACEMENT" and "Subdivision" in rig.head.modifiers
    assert mat.node_tree.nodes[DISPLACEMENT_NODE].inputs["Scale"].default_value == pytest.approx(0.02)


@pytest.fixture(scope="module")
def flame_avatar(flame_bundle):
    from headsmith_blender.core.bundle import read_avatar

    return read_avatar(flame_bundle)


def test_flame_rig_has_component_sliders_and_wrinkle_drivers(empty_scene, flame_avatar):
    """A FLAME head (stand-in files, DECA's decoder): FLAME's joints, one signed slider per
    expression component, and wrinkle weights driven by the components."""
    import bpy

    from headsmith_blender.scene.materials import wrinkle_weight_nodes
    from headsmith_blender.scene.rig_builder import build_head

    rig = build_head(flame_avatar, pack=False)
    assert [b.name for b in rig.armature.data.bones] == ["root", "neck", "jaw", "eye.L", "eye.R"]
    assert rig.armature.data.bones["jaw"].parent.name == "neck"
    keys = rig.head.data.shape_keys.key_blocks
    assert [k.name for k in keys[1:]] == [f"exp{i:03d}" for i in range(50)]
    assert (keys["exp000"].slider_min, keys["exp000"].slider_max) == (-3.0, 3.0)
    rest = _evaluated(bpy, rig.head)
    keys["exp000"].value = -2.0
    want = -2.0 * to_blender(flame_avatar.rig["expression_deltas"][0])
    assert np.abs(_evaluated(bpy, rig.head) - rest - want).max() < 1e-5
    keys["exp000"].value = 0.0

    nodes = wrinkle_weight_nodes(rig.materials["Skin"])
    specs = {(s.region, s.key): s for s in driver_specs(flame_avatar.wrinkles)}
    assert set(nodes) == set(specs) and {k for _, k in nodes} <= {f"exp{i:03d}{s}" for i in range(5) for s in "+-"} | {"jaw_open"}
    # keyframe exp000 from 0 to +2 and -2: the + and - keys' weights follow their drivers
    scene = bpy.context.scene
    for frame, v in ((1, 0.0), (10, 2.0), (20, -2.0)):
        keys["exp000"].value = v
        keys["exp000"].keyframe_insert("value", frame=frame)
    moved = []
    for frame, v in ((1, 0.0), (10, 2.0), (20, -2.0)):
        scene.frame_set(frame)
        values = {k.name: k.value for k in keys[1:]}
        assert values["exp000"] == pytest.approx(v)
        for key, node in nodes.items():
            assert node.outputs[0].default_value == pytest.approx(specs[key].evaluate(values, 0.0), abs=1e-4)
        moved.append([nodes[k].outputs[0].default_value for k in sorted(nodes) if k[1].startswith("exp000")])
    assert np.abs(np.array(moved[1]) - moved[0]).max() > 0.05 or np.abs(np.array(moved[2]) - moved[0]).max() > 0.05


def test_every_wrinkle_key_gets_a_close_up_on_its_region(rig, avatar):
    """avatar.png's close-ups: one per key, framed on the (left) region the key drives: the
    forehead's above the eyes' above the nasolabial fold's above the lower face's."""
    from headsmith_blender.scene.preview import CLOSEUP_MIN_HALF, closeups_for

    cu = closeups_for(rig, avatar.wrinkles)
    assert set(cu) == set(avatar.wrinkles.keys) == set(avatar.wrinkles.sidecar["key_poses"])
    z = {k: c.centre[2] for k, c in cu.items()}
    assert z["brows_up"] > z["squint"] > z["smile"] > z["mouth_frown"]
    for k, c in cu.items():
        assert c.half >= CLOSEUP_MIN_HALF and c.pose == avatar.wrinkles.sidecar["key_poses"][k]
        if c.turn:                                   # a left/right key: framed on the head's left (+x)
            assert c.centre[0] > 0.005, k
        else:                                        # a centre key: on the middle
            assert abs(c.centre[0]) < 0.005, k
