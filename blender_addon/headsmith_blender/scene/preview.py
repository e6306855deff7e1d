"""Render the head at a few expressions (bpy, Cycles on the CPU; works in `blender -b` and with
the bpy wheel). Wrinkles come from the baked maps through the drivers, as in any render.

A raking key light from above-left shows furrows; the camera is orthographic, straight on, and
for one last render of the neutral head it turns THREE_QUARTER_DEG about the head's vertical axis
(where a pasted face or a flat-lit side shows). Then, with baked wrinkles, a close-up of each
wrinkle key at its key pose, framed on its region (`closeups_for`; the left one of a left/right
pair, seen from CLOSEUP_TURN_DEG toward that side) under a more grazing key light, so every
group's lines can be seen.

Renders are denoised with OpenImageDenoise (guided by the albedo and normal passes) where the
Blender build has it: at 16 samples the skin's subsurface scattering otherwise leaves a coarse
grain in the shadowed half that reads as stubble.
"""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import bpy
import numpy as np
from mathutils import Euler, Vector

from ..core.strings import UI
from .rig_builder import HeadRig

POSES = {  # label -> (shape key values, jaw bone X rotation in radians)
    "neutral": ({}, 0.0),
    "smile": ({"mouthSmileLeft": 1.0, "mouthSmileRight": 1.0, "cheekSquintLeft": 0.6, "cheekSquintRight": 0.6}, 0.0),
    "brows up": ({"browInnerUp": 1.0, "browOuterUpLeft": 1.0, "browOuterUpRight": 1.0}, 0.0),
    "jaw open": ({"jawOpen": 0.6}, 0.25),
}
THREE_QUARTER_DEG = 35.0
THREE_QUARTER_LABEL = "neutral 3/4"
CLOSEUP_TURN_DEG = 30.0        # a left/right key's close-up looks at the head's left from this far round
CLOSEUP_MIN_HALF = 0.018       # metres: the smallest half-width a close-up frames
CLOSEUP_KEY_LIGHT = (1.25, 0.0, -0.9)   # the key light lower and more to the side: it rakes across the lines
# heads whose shape keys are signed components (FLAME): the first two at +/-2 standard deviations
COMPONENT_POSES = {
    "neutral": ({}, 0.0),
    "exp000 +2": ({"exp000": 2.0}, 0.0),
    "exp001 -2": ({"exp001": -2.0}, 0.0),
    "jaw open": ({}, 0.25),
}


def poses_for(rig: HeadRig) -> dict:
    """The named ARKit poses when the head has those shape keys, else the component poses."""
    names = set(rig.head.data.shape_keys.key_blocks.keys())
    return POSES if all(k in names for values, _ in POSES.values() for k in values) else COMPONENT_POSES


def set_pose(rig: HeadRig, values: dict, jaw: float) -> None:
    for kb in rig.head.data.shape_keys.key_blocks[1:]:
        kb.value = float(values.get(kb.name, 0.0))
    if rig.armature is not None and "jaw" in rig.armature.pose.bones:
        rig.armature.pose.bones["jaw"].rotation_euler[0] = jaw
    bpy.context.view_layer.update()


def _stage(rig: HeadRig, size: int, samples: int):
    scene = bpy.context.scene
    V = np.asarray([v.co[:] for v in rig.head.data.vertices])
    face = V[V[:, 1] < np.percentile(V[:, 1], 40)]          # the front of the head
    lo, hi = face.min(0), face.max(0)
    center = Vector(((lo[0] + hi[0]) / 2, 0.0, (lo[2] + hi[2]) / 2 + 0.01))
    cam_data = bpy.data.cameras.new("Headsmith Preview Camera")
    cam_data.type = "ORTHO"
    cam_data.ortho_scale = float(max(hi[0] - lo[0], hi[2] - lo[2])) * 1.05
    cam = bpy.data.objects.new("Headsmith Preview Camera", cam_data)
    cam.location = center + Vector((0.0, -1.0, 0.0))
    cam.rotation_euler = Euler((np.pi / 2, 0.0, 0.0))
    scene.collection.objects.link(cam)
    scene.camera = cam
    lights = []
    for name, energy, rot in (("Key", 4.0, (0.75, 0.0, -0.55)), ("Fill", 0.8, (1.35, 0.0, 0.9))):
        ld = bpy.data.lights.new(f"Headsmith Preview {name}", "SUN")
        ld.energy = energy
        ld.angle = 0.05
        lo_ = bpy.data.objects.new(ld.name, ld)
        lo_.rotation_euler = Euler(rot)
        scene.collection.objects.link(lo_)
        lights.append(lo_)
    if scene.world is None:
        scene.world = bpy.data.worlds.new("Headsmith Preview World")
    scene.world.color = (0.05, 0.05, 0.06)
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = samples
    _set_denoising(scene.cycles)
    scene.render.resolution_x = scene.render.resolution_y = size
    scene.render.resolution_percentage = 100
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGB"
    scene.view_settings.view_transform = "Standard"
    return [cam] + lights


def has_denoiser() -> bool:
    """Whether this Blender's Cycles was built with OpenImageDenoise (official builds and the bpy
    wheels 4.2 and 5.0 are; a custom build may not be)."""
    try:
        import _cycles
    except ImportError:
        return False
    return bool(getattr(_cycles, "with_openimagedenoise", False))


def _set_denoising(cycles) -> None:
    """OpenImageDenoise on the final render, guided by albedo and normals (texture edges and
    relief kept), when the build has it; otherwise the render is left as sampled."""
    cycles.use_denoising = has_denoiser()
    if cycles.use_denoising:
        cycles.denoiser = "OPENIMAGEDENOISE"
        cycles.denoising_input_passes = "RGB_ALBEDO_NORMAL"


def _turn_camera(cam, centre: Vector, degrees: float) -> None:
    """Orbit the camera about the vertical axis through `centre` (the head's front at 0)."""
    a = np.radians(degrees)
    cam.location = centre + Vector((float(np.sin(a)), -float(np.cos(a)), 0.0))
    cam.rotation_euler = Euler((np.pi / 2, 0.0, float(a)))


def _render(tmp: Path, size: int) -> np.ndarray:
    f = tmp / "render.png"
    bpy.context.scene.render.filepath = str(f)
    bpy.ops.render.render(write_still=True)
    img = bpy.data.images.load(str(f))
    px = np.asarray(img.pixels[:], np.float32).reshape(size, size, 4)[::-1, :, :3]
    bpy.data.images.remove(img)
    return (px * 255 + 0.5).clip(0, 255).astype(np.uint8)


@contextmanager
def _staged(rig: HeadRig, size: int, samples: int):
    """The preview camera and lights in the scene while the block runs, then removed."""
    added = _stage(rig, size, samples)
    try:
        yield added[0]
    finally:
        for o in added:
            data = o.data
            bpy.data.objects.remove(o)
            if isinstance(data, bpy.types.Camera):
                bpy.data.cameras.remove(data)
            else:
                bpy.data.lights.remove(data)


@dataclass(frozen=True)
class CloseUp:
    pose: dict                   # shape key -> value: the key's pose
    centre: tuple                # (3,) Blender frame, metres: the middle of its region
    half: float                  # metres: half the framed width
    turn: float                  # degrees the camera turns toward the head's left


def _vertex_uv(mesh) -> np.ndarray:
    """(V, 2) each vertex's UV (of one of its corners)."""
    loops = np.empty(len(mesh.loops), np.int64)
    mesh.loops.foreach_get("vertex_index", loops)
    uv = np.empty(len(mesh.loops) * 2, np.float32)
    mesh.uv_layers.active.data.foreach_get("uv", uv)
    out = np.zeros((len(mesh.vertices), 2), np.float32)
    out[loops] = uv.reshape(-1, 2)
    return out


def _mask_at(path: Path, uv: np.ndarray) -> np.ndarray:
    """(V,) a mask image's first channel at each vertex's UV (nearest texel)."""
    img = bpy.data.images.load(str(path), check_existing=False)
    try:
        w, h = img.size
        px = np.empty(w * h * 4, np.float32)
        img.pixels.foreach_get(px)
    finally:
        bpy.data.images.remove(img)
    px = px.reshape(h, w, 4)[..., 0]
    col = np.clip((uv[:, 0] * w).astype(int), 0, w - 1)
    row = np.clip((uv[:, 1] * h).astype(int), 0, h - 1)
    return px[row, col]


def closeups_for(rig: HeadRig, wrinkles) -> dict:
    """key -> CloseUp for each baked wrinkle key whose pose the sidecar records (key_poses): the
    mask-weighted middle and spread of the regions it drives (the left ones of a pair)."""
    poses = wrinkles.sidecar.get("key_poses") or {}
    mesh = rig.head.data
    V = np.empty(len(mesh.vertices) * 3, np.float32)
    mesh.vertices.foreach_get("co", V)
    V = V.reshape(-1, 3)
    uv = _vertex_uv(mesh)
    at_vertices: dict = {}           # region -> its mask at the vertices (keys share regions: read once)
    out = {}
    for key, pose in poses.items():
        regions = [r for r in wrinkles.regions if key in wrinkles.coefficients.get(r, {})]
        left = [r for r in regions if r.endswith(".L")] or regions
        for r in left:
            if r not in at_vertices:
                at_vertices[r] = _mask_at(wrinkles.folder / wrinkles.masks[r], uv)
        w = sum((at_vertices[r] for r in left), np.zeros(len(V), np.float32))
        if w.sum() < 1e-3:
            continue
        c = (w[:, None] * V).sum(0) / w.sum()
        spread = float(np.sqrt((w * ((V - c)[:, [0, 2]] ** 2).sum(1)).sum() / w.sum()))
        turn = CLOSEUP_TURN_DEG if left[0].endswith(".L") else 0.0
        out[key] = CloseUp(dict(pose), tuple(float(x) for x in c), max(2.2 * spread, CLOSEUP_MIN_HALF), turn)
    return out


def _render_closeups(rig: HeadRig, cam, closeups: dict, tmp: Path, size: int) -> dict:
    """{UI["closeup"] + key: (size, size, 3) uint8}, each framed on its key's region and lit at a
    grazing angle (the key light's rotation is restored afterwards)."""
    key = next(o for o in bpy.context.scene.objects if o.name.endswith("Preview Key"))
    saved = tuple(key.rotation_euler)
    key.rotation_euler = Euler(CLOSEUP_KEY_LIGHT)
    out = {}
    try:
        for name, cu in closeups.items():
            set_pose(rig, cu.pose, 0.0)
            _turn_camera(cam, Vector(cu.centre), cu.turn)
            cam.data.ortho_scale = 2.0 * cu.half
            out[UI["closeup"] + name] = _render(tmp, size)
    finally:
        key.rotation_euler = Euler(saved)
    return out


def render_poses(rig: HeadRig, poses: dict | None = None, size: int = 512, samples: int = 16,
                 three_quarter: bool = True, closeups: dict | None = None) -> dict:
    """{label: (size, size, 3) uint8 sRGB} for each pose (default: `poses_for(rig)`), then the
    neutral head at three-quarter view (THREE_QUARTER_LABEL), then each close-up (key ->
    CloseUp, `closeups_for`); the scene is left as it was."""
    poses = poses_for(rig) if poses is None else poses
    out = {}
    try:
        with _staged(rig, size, samples) as cam, tempfile.TemporaryDirectory() as tmp:
            for label, (values, jaw) in poses.items():
                set_pose(rig, values, jaw)
                out[label] = _render(Path(tmp), size)
            if three_quarter:
                set_pose(rig, {}, 0.0)
                V = np.asarray([v.co[:] for v in rig.head.data.vertices])
                pivot = Vector((cam.location.x, float(V[:, 1].min() + V[:, 1].max()) / 2, cam.location.z))
                _turn_camera(cam, pivot, THREE_QUARTER_DEG)   # about the skull's middle, not the face
                cam.data.ortho_scale *= 1.1
                out[THREE_QUARTER_LABEL] = _render(Path(tmp), size)
            out |= _render_closeups(rig, cam, closeups or {}, Path(tmp), size)
    finally:
        set_pose(rig, {}, 0.0)
    return out


def render_frames(rig: HeadRig, frames: list[int], size: int = 384, samples: int = 16) -> dict:
    """{'frame F': (size, size, 3) uint8 sRGB} of the scene's animation at each frame (a keyed
    take), front view; the scene is left at its first frame."""
    scene = bpy.context.scene
    out = {}
    try:
        with _staged(rig, size, samples), tempfile.TemporaryDirectory() as tmp:
            for f in frames:
                scene.frame_set(int(f))
                out[f"frame {int(f)}"] = _render(Path(tmp), size)
    finally:
        scene.frame_set(scene.frame_start)
    return out


def write_renders(renders: dict, dest: Path) -> Path:
    """{label: image} -> an NPZ (labels, (N, S, S, 3) uint8 images) for the caller to lay out,
    written atomically (a headless job's hand-over to the backend process)."""
    dest = Path(dest)
    tmp = dest.with_name(dest.name + ".tmp.npz")
    np.savez(tmp, labels=np.array(list(renders)), images=np.stack(list(renders.values())))
    os.replace(tmp, dest)
    return dest
