"""The head panel's face controls on a built head (bpy): expression presets, reset, and one key
on every face control at the current frame."""
from __future__ import annotations

from .rig_builder import HeadRig

FACE_BONES = ("neck", "head", "jaw", "eye.L", "eye.R")   # pose bones the panel shows and keys


def set_expression(rig: HeadRig, values: dict) -> int:
    """Every shape key to values.get(name, 0). -> how many of `values` the head has."""
    keys = rig.head.data.shape_keys.key_blocks[1:]
    for kb in keys:
        kb.value = float(values.get(kb.name, 0.0))
    return len(set(values) & {kb.name for kb in keys})


def reset_face(rig: HeadRig) -> None:
    """All shape keys at 0 and the face bones at rest."""
    set_expression(rig, {})
    if rig.armature is not None:
        for name in FACE_BONES:
            if name in rig.armature.pose.bones:
                rig.armature.pose.bones[name].rotation_euler = (0.0, 0.0, 0.0)


def key_face(rig: HeadRig, frame: int) -> int:
    """A key on every shape key and face bone rotation at `frame`. -> keys inserted."""
    n = 0
    for kb in rig.head.data.shape_keys.key_blocks[1:]:
        n += bool(kb.keyframe_insert("value", frame=frame))
    if rig.armature is not None:
        for name in FACE_BONES:
            if name in rig.armature.pose.bones:
                n += bool(rig.armature.pose.bones[name].keyframe_insert("rotation_euler", frame=frame))
    return n
