"""Build the rigged head from an avatar bundle (bpy). Runs the same inside Blender (operators) and
headless (`headsmith avatar`, tests with the bpy wheel).

Result: an armature `<name> Rig` (bones root, neck, head, jaw, eye.L, eye.R) with the mesh
`<name> Head` parented and skinned to it, one shape key per expression (the 52 ARKit names for
OpenHead) with 0..1 sliders, four material slots (Skin, Eyes, Teeth, Tongue) and the wrinkle
drivers (see materials.py). Pose bones use XYZ Euler rotations; rotating the jaw bone about its
local X axis by a positive angle opens the mouth, as the head model's jaw does.
"""
from __future__ import annotations

from dataclasses import dataclass

import bpy
import numpy as np
from mathutils import Vector

from ..core.bundle import AvatarData, to_blender
from .materials import LIVE_PROP, build_materials

BUNDLE_PROP = "headsmith_bundle"
CODE_PROP = "headsmith_detail_code"
JAW_OPEN_MAX = 0.5    # radians, the jaw bone's rotation limit


@dataclass
class HeadRig:
    head: bpy.types.Object
    armature: bpy.types.Object
    materials: dict


def _bone_tails(rig: dict, J: np.ndarray) -> dict:
    """Tail position per bone (Blender frame) from the joints and the skinning."""
    names = [str(n) for n in rig["joint_names"]]
    V = to_blender(rig["vertices"])
    W = rig["skin_weights"]
    tails = {}
    for i, n in enumerate(names):
        children = [k for k, p in enumerate(rig["parents"]) if p == i]
        if n == "jaw":
            w = W[:, i] ** 4
            tails[n] = (V * w[:, None]).sum(0) / max(w.sum(), 1e-9)       # toward the chin
        elif n.startswith("eye"):
            tails[n] = J[i] + np.array([0.0, -0.025, 0.0])                 # look forward (-y)
        elif n == "head" or not children:
            tails[n] = J[i] + np.array([0.0, 0.0, 0.12])
        else:
            nxt = J[children[0]]
            tails[n] = nxt if np.linalg.norm(nxt - J[i]) > 1e-3 else J[i] + np.array([0.0, 0.0, 0.05])
    return tails


def _armature(name: str, rig: dict, collection) -> bpy.types.Object:
    arm = bpy.data.armatures.new(f"{name} Rig")
    obj = bpy.data.objects.new(f"{name} Rig", arm)
    collection.objects.link(obj)
    J = to_blender(rig["joints"])
    tails = _bone_tails(rig, J)
    names = [str(n) for n in rig["joint_names"]]
    view_layer = bpy.context.view_layer
    prev_active = view_layer.objects.active
    view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode="EDIT")
    bones = []
    for i, n in enumerate(names):
        b = arm.edit_bones.new(n)
        b.head, b.tail = Vector(J[i]), Vector(tails[n])
        b.align_roll(Vector((0.0, 0.0, 1.0)) if abs(tails[n][2] - J[i][2]) < 0.8 * np.linalg.norm(tails[n] - J[i])
                     else Vector((0.0, -1.0, 0.0)))
        bones.append(b)
    for i, p in enumerate(rig["parents"]):
        if p >= 0:
            bones[i].parent = bones[int(p)]
    # the jaw opens with +X: point the bone's X axis along the model's +x (left of the face)
    jaw = arm.edit_bones.get("jaw")
    if jaw is not None and jaw.x_axis.x < 0:
        jaw.roll += np.pi
    bpy.ops.object.mode_set(mode="OBJECT")
    view_layer.objects.active = prev_active
    for pb in obj.pose.bones:
        pb.rotation_mode = "XYZ"
    jaw_pb = obj.pose.bones.get("jaw")
    if jaw_pb is not None:
        c = jaw_pb.constraints.new("LIMIT_ROTATION")
        c.use_limit_x, c.min_x, c.max_x = True, -0.05, JAW_OPEN_MAX
        c.owner_space = "LOCAL"
    return obj


def _mesh(name: str, avatar: AvatarData, collection) -> bpy.types.Object:
    rig = avatar.rig
    V = to_blender(rig["vertices"])
    F = rig["faces"].astype(np.int64)
    me = bpy.data.meshes.new(f"{name} Head")
    me.from_pydata(V.tolist(), [], F.tolist())
    uvl = me.uv_layers.new(name="UVMap")
    uvl.data.foreach_set("uv", rig["uv"][rig["uv_faces"]].astype(np.float32).ravel())
    slots, per_face = avatar.slot_of_faces()
    me.polygons.foreach_set("material_index", per_face.astype(np.int32))
    me.shade_smooth()
    me.validate()
    obj = bpy.data.objects.new(f"{name} Head", me)
    collection.objects.link(obj)
    return obj


def _skin(obj: bpy.types.Object, rig: dict) -> None:
    W = rig["skin_weights"]
    for j, n in enumerate(rig["joint_names"]):
        vg = obj.vertex_groups.new(name=str(n))
        idx = np.nonzero(W[:, j] > 1e-4)[0]
        for w in np.unique(np.round(W[idx, j], 4)):
            sel = idx[np.round(W[idx, j], 4) == w]
            vg.add(sel.tolist(), float(w), "REPLACE")


def _shape_keys(obj: bpy.types.Object, rig: dict) -> None:
    base = rig["vertices"]
    lo, hi = (float(x) for x in rig.get("expression_range", (0.0, 1.0)))   # FLAME: signed components
    obj.shape_key_add(name="Basis", from_mix=False)
    for n, d in zip(rig["expression_names"], rig["expression_deltas"]):
        kb = obj.shape_key_add(name=str(n), from_mix=False)
        kb.data.foreach_set("co", to_blender(base + d).ravel())
        kb.slider_min, kb.slider_max = lo, hi
        kb.value = 0.0                     # new keys start at 1.0 in Blender 5
    obj.data.shape_keys.name = f"{obj.name} Expressions"


def build_head(avatar: AvatarData, collection=None, pack: bool = True, true_displacement: bool = False) -> HeadRig:
    """Create the armature, mesh, shape keys, skinning, materials and wrinkle drivers.
    true_displacement: Cycles displaces the surface by the static map (adds a Subdivision modifier)."""
    collection = collection or bpy.context.scene.collection
    name = avatar.name
    arm = _armature(name, avatar.rig, collection)
    head = _mesh(name, avatar, collection)
    _skin(head, avatar.rig)
    _shape_keys(head, avatar.rig)
    head.parent = arm
    mod = head.modifiers.new("Armature", "ARMATURE")
    mod.object = arm
    head[BUNDLE_PROP] = str(avatar.folder)
    head[LIVE_PROP] = 0
    head.id_properties_ui(LIVE_PROP).update(min=0, max=1, description="1: live re-decoded wrinkles, 0: baked")
    if avatar.detail_code:
        head[CODE_PROP] = [float(c) for c in avatar.detail_code]
    if true_displacement:
        sub = head.modifiers.new("Subdivision", "SUBSURF")
        sub.levels, sub.render_levels = 0, 2
    mats = build_materials(head, avatar, arm, pack=pack, true_displacement=true_displacement)
    return HeadRig(head, arm, mats)


def find_heads() -> list[bpy.types.Object]:
    return [o for o in bpy.data.objects if o.type == "MESH" and BUNDLE_PROP in o]


def armature_of(head: bpy.types.Object) -> bpy.types.Object | None:
    return head.parent if head.parent is not None and head.parent.type == "ARMATURE" else None


def rig_of(head: bpy.types.Object) -> HeadRig:
    """The HeadRig of a head built earlier (materials by slot name: '<name> Skin', ...)."""
    mats = {m.name.rsplit(" ", 1)[-1]: m for m in head.data.materials if m is not None}
    return HeadRig(head, armature_of(head), mats)


def active_head(context):
    """The head mesh the user means: the active object, or the head of the active armature."""
    obj = context.active_object
    if obj is not None and obj.type == "ARMATURE":
        obj = next((c for c in obj.children if c in find_heads()), None)
    return obj if obj is not None and obj in find_heads() else None
