"""A Live Link Face take keyed onto a built head (bpy): the 52 shape keys, the head bone and the
eye bones, one key per row, in new actions (earlier ones stay in the file). The wrinkles follow
through the shape-key drivers; the glTF export carries the actions as morph-weight and bone-
rotation channels.

Rotations (radians) onto the pose bones' XYZ Euler (see rig_builder: the head bone points up with
its Z axis forward, the eye bones point forward with Z up):

    take            meaning (the subject's own left = the model's +x)    pose bone channel
    HeadYaw   > 0   face turns toward its left                           head rotation Y  = +yaw
    HeadPitch > 0   face tilts up                                        head rotation X  = -pitch
    HeadRoll  > 0   head leans toward its left shoulder                  head rotation Z  = -roll
    EyeYaw    > 0   the eye looks toward the subject's left               eye rotation Z   = +yaw
    EyePitch  > 0   the eye looks up                                     eye rotation X   = +pitch

The app's own sign conventions are not documented; these are ours, in one table (ROTATION_CHANNELS).
"""
from __future__ import annotations

import bpy
import numpy as np

from ..core.live_link import LiveLinkTake
from .rig_builder import HeadRig

# pose bone -> take field, and per Euler axis (X, Y, Z): (take column 0 yaw / 1 pitch / 2 roll, sign)
ROTATION_CHANNELS = {
    "head": ("head", {0: (1, -1.0), 1: (0, 1.0), 2: (2, -1.0)}),
    "eye.L": ("left_eye", {0: (1, 1.0), 2: (0, 1.0)}),
    "eye.R": ("right_eye", {0: (1, 1.0), 2: (0, 1.0)}),
}


def take_frames(take: LiveLinkTake, start_frame: int, fps: float) -> np.ndarray:
    """(N,) scene frames of the take's rows (float: rows between frames stay between them)."""
    return start_frame + take.times * fps


def _fcurve(action, datablock, data_path: str, index: int = 0):
    """An F-curve of `action` (already assigned to `datablock`), in Blender 4.2 (legacy actions) and
    4.4+ (layered actions with slots) alike."""
    if hasattr(action, "fcurve_ensure_for_datablock"):
        return action.fcurve_ensure_for_datablock(datablock, data_path, index=index)
    fc = action.fcurves.find(data_path, index=index)
    return fc if fc is not None else action.fcurves.new(data_path, index=index)


def _key(fc, frames: np.ndarray, values: np.ndarray) -> None:
    fc.keyframe_points.clear()
    fc.keyframe_points.add(len(frames))
    co = np.empty(2 * len(frames), np.float32)
    co[0::2], co[1::2] = frames, values
    fc.keyframe_points.foreach_set("co", co)
    linear = bpy.types.Keyframe.bl_rna.properties["interpolation"].enum_items["LINEAR"].value
    fc.keyframe_points.foreach_set("interpolation", np.full(len(frames), linear, np.int32))
    fc.update()


def _new_action(datablock, name: str):
    ad = datablock.animation_data or datablock.animation_data_create()
    action = bpy.data.actions.new(name)
    ad.action = action
    return action


def apply_take(rig: HeadRig, take: LiveLinkTake, name: str = "take", start_frame: int = 1,
               use_take_rate: bool = True) -> dict:
    """Key the take onto the rig. use_take_rate: set the scene's frame rate to the take's rows per
    second (one row per frame); else keep the scene's rate and place rows at their times. Returns
    a summary (frames, rate, keys per channel)."""
    scene = bpy.context.scene
    if use_take_rate:
        scene.render.fps, scene.render.fps_base = max(1, int(round(take.rate))), 1.0
    fps = scene.render.fps / scene.render.fps_base
    frames = take_frames(take, start_frame, fps)
    keys = rig.head.data.shape_keys
    shape_action = _new_action(keys, f"{rig.head.name} {name}")
    keyed = 0
    for curve, values in take.curves.items():
        if curve in keys.key_blocks:
            _key(_fcurve(shape_action, keys, f'key_blocks["{curve}"].value'), frames, values)
            keyed += 1
    bones = 0
    if take.has_rotations:
        arm_action = _new_action(rig.armature, f"{rig.armature.name} {name}")
        for bone, (field, axes) in ROTATION_CHANNELS.items():
            if bone not in rig.armature.pose.bones:
                continue
            rot = getattr(take, field)
            for axis, (col, sign) in axes.items():
                _key(_fcurve(arm_action, rig.armature, f'pose.bones["{bone}"].rotation_euler', axis), frames,
                     sign * rot[:, col])
            bones += 1
    scene.frame_start, scene.frame_end = start_frame, int(np.ceil(frames[-1]))
    scene.frame_set(start_frame)
    return {"rows": take.rows, "rate": take.rate, "scene_fps": fps, "shape_keys": keyed, "bones": bones,
            "frames": [float(frames[0]), float(frames[-1])]}
