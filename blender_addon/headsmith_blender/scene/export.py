"""Game-engine exports of a built head (bpy): glTF 2.0 binary and FBX, written atomically.

glTF cannot express the driver-blended wrinkles, so (as CC4 and MetaHuman ship them) the .glb
carries the skin, the morph targets (named as the shape keys), the albedo and the static normal
map, and beside it go the wrinkle normal maps and region masks (`<stem>_wrinkles/`) with a JSON
sidecar (`<stem>.wrinkles.json`) mapping morph-target weights to wrinkle-map weights:
w[region][key] = clamp(sum coef * morph weight + coef_jaw * jaw angle + bias, 0, 1.5), and the
skin normal = N_static + sum_key (sum_region w * mask) * (N_key - N_static).
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import bpy

from ..core.bundle import BundleError, read_avatar
from ..core.files import publish
from .materials import NORMAL_MAP_NODE, STATIC_NORMAL_NODE
from .rig_builder import BUNDLE_PROP, HeadRig


# the engine contract of STEM.wrinkles.json (core/engine_wrinkles.schema.json holds it)
ENGINE_SIDECAR_SCHEMA = "headsmith-engine-wrinkles/2"
STATIC_NORMAL_FILE = "normal_static.png"   # the static normal map's name in the wrinkles folder
NORMAL_FORMULA = ("n = normalize(N_static + sum_r mask_r * sum_k w[r][k] * (N_k - N_static)); "
                  "N = 2 * rgb - 1 of each map (static_normal_map, normal_maps[k]); mask_r in [0, 1] from masks[r]")
TANGENT_SPACE = {"convention": "OpenGL: +X = +u (red), +Y = +v (green up), +Z = the surface normal (blue)",
                 "basis": "MikkTSpace, the glb's TANGENT attribute (w = bitangent sign)"}


@contextmanager
def _selected(objs):
    prev_sel = [o for o in bpy.context.view_layer.objects if o.select_get()]
    prev_active = bpy.context.view_layer.objects.active
    for o in prev_sel:
        o.select_set(False)
    for o in objs:
        o.select_set(True)
    bpy.context.view_layer.objects.active = objs[0]
    try:
        yield
    finally:
        for o in objs:
            o.select_set(False)
        for o in prev_sel:
            o.select_set(True)
        bpy.context.view_layer.objects.active = prev_active


@contextmanager
def _static_normals(rig: HeadRig):
    """Exporters follow Normal Map <- Image; while exporting, feed the skin's normal map from the
    static normal image instead of the blend graph."""
    mat = rig.materials.get("Skin")
    if mat is None:
        yield
        return
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    nm, n0 = nodes.get(NORMAL_MAP_NODE), nodes.get(STATIC_NORMAL_NODE)
    old = nm.inputs["Color"].links[0].from_socket if nm.inputs["Color"].is_linked else None
    links.new(n0.outputs["Color"], nm.inputs["Color"])
    try:
        yield
    finally:
        if old is not None:
            links.new(old, nm.inputs["Color"])


# Blender's FBX exporter writes every material as Phong with SpecularColor = the Principled base
# colour's own value, SpecularFactor = Specular IOR Level / 2 and Shininess = (10 (1 - roughness))^2.
# Left as they are, the skin would export as a grey 0.2 specular: glossy plastic. While exporting,
# each slot's base colour value is white (the albedo texture carries the colour) and its specular
# level the one below (skin: 0.05 specular, about twice skin's Fresnel F0 of 0.028).
FBX_SPECULAR_LEVEL = {"Skin": 0.1, "Teeth": 0.2, "Tongue": 0.2, "Eyes": 0.5}


@contextmanager
def _fbx_phong_values(rig: HeadRig):
    saved = []
    for slot, mat in rig.materials.items():
        bsdf = next((n for n in mat.node_tree.nodes if n.bl_idname == "ShaderNodeBsdfPrincipled"), None)
        if bsdf is None or slot not in FBX_SPECULAR_LEVEL:
            continue
        base, spec = bsdf.inputs["Base Color"], bsdf.inputs["Specular IOR Level"]
        saved.append((base, tuple(base.default_value), spec, spec.default_value))
        base.default_value = (1.0, 1.0, 1.0, 1.0)
        spec.default_value = FBX_SPECULAR_LEVEL[slot]
    try:
        yield
    finally:
        for base, b, spec, v in saved:
            base.default_value = b
            spec.default_value = v


def _atomic_file(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    return Path(tmp)


def save_blend(path: Path | str) -> Path:
    """The open file saved as PATH (.blend, compressed), atomically: image paths stay relative to it
    (Blender remaps them on saving into the same folder)."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp.blend")
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp), compress=True)
    os.replace(tmp, path)
    return path


def export_glb(rig: HeadRig, path: Path | str) -> Path:
    """Write PATH (.glb), PATH_wrinkles/ and PATH.wrinkles.json (see the module docstring)."""
    path = Path(path)
    tmp = _atomic_file(path)
    try:
        with _selected([rig.armature, rig.head]), _static_normals(rig):
            bpy.ops.export_scene.gltf(filepath=str(tmp), export_format="GLB", use_selection=True,
                                      export_skins=True, export_morph=True, export_morph_normal=False, export_tangents=True,
                                      export_apply=False, export_yup=True, export_animations=True)
        publish(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _write_wrinkle_sidecar(rig, path)
    return path


def _write_wrinkle_sidecar(rig: HeadRig, path: Path) -> None:
    avatar = read_avatar(rig.head[BUNDLE_PROP])
    wr = avatar.wrinkles
    if wr is None:
        return
    folder = path.with_name(f"{path.stem}_wrinkles")
    packed = wr.sidecar.get("packed")
    if packed is None:
        raise BundleError(f"{wr.folder} has no maps packed for engines (a bundle from an older Headsmith); "
                          "bake its wrinkles again with: headsmith wrinkles BUNDLE")
    animated = [m["file"] for m in wr.sidecar.get("metahuman", {}).get("maps", {}).values()]
    sources = {f: wr.folder / f for f in [*wr.normal_maps.values(), *wr.masks.values(), *packed["normals"],
                                          *packed["masks"], *animated]}
    sources[STATIC_NORMAL_FILE] = avatar.normal
    stage = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=path.parent))
    try:
        for name, src in sources.items():
            shutil.copy2(src, stage / name)
        if folder.exists():
            shutil.rmtree(folder)
        publish(stage, folder)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    side = {"schema": ENGINE_SIDECAR_SCHEMA} | dict(wr.sidecar)
    side["normal_formula"] = NORMAL_FORMULA
    side["tangent_space"] = TANGENT_SPACE
    side["weight_range"] = [0, side["weight_max"]]
    side["files"] = sorted(sources)
    side["glb"] = path.name
    side["folder"] = folder.name
    side["static_normal_map"] = STATIC_NORMAL_FILE
    side["morph_targets"] = [kb.name for kb in rig.head.data.shape_keys.key_blocks[1:]]
    side["jaw"] = {"bone": "jaw", "axis": "local X", "unit": "radians",
                   "one_or_the_other": "the jaw bone and the jawOpen morph target each open the mouth and its "
                                       "wrinkles in full: drive one of them (an ARKit stream: jawOpen), not both"}
    if "jaw_open_equivalent_rad" in side:
        side["jaw"]["jawOpen_equivalent_rad"] = side.pop("jaw_open_equivalent_rad")
    tmp = _atomic_file(path.with_suffix(".wrinkles.json"))
    tmp.write_text(json.dumps(side, indent=1))
    publish(tmp, path.with_suffix(".wrinkles.json"))


@contextmanager
def _corner_normals(obj):
    """Blender's FBX exporter writes the normals of an all-smooth mesh per vertex (ByVertice),
    which assimp, and so Unity's and Godot's importers through it, drops. Custom normals equal to
    the smooth ones make it write them per polygon corner, with the same shading; they are
    cleared again afterwards (with the operator, which every supported Blender has)."""
    mesh = obj.data
    if mesh.has_custom_normals:       # someone's own normals: exported as they are
        yield
        return
    had_sharp = "sharp_edge" in mesh.attributes
    mesh.normals_split_custom_set_from_vertices([v.normal for v in mesh.vertices])
    try:
        yield
    finally:
        with bpy.context.temp_override(object=obj, active_object=obj, selected_objects=[obj],
                                       selected_editable_objects=[obj]):
            bpy.ops.mesh.customdata_custom_splitnormals_clear()
        if not had_sharp and "sharp_edge" in mesh.attributes:
            mesh.attributes.remove(mesh.attributes["sharp_edge"])


@contextmanager
def _relative_texture_paths():
    """The exporter writes each texture's absolute path (FileName, Path) beside its relative one:
    the build machine's folders in a file meant to travel. While exporting, both are the relative
    one (`<stem>.fbm/<image>`; the images themselves are embedded)."""
    from io_scene_fbx import export_fbx_bin

    original = getattr(export_fbx_bin, "_gen_vid_path", None)
    if original is None:             # another exporter version: its paths as it writes them
        yield
        return

    def relative_only(img, scene_data):
        return (original(img, scene_data)[1],) * 2

    export_fbx_bin._gen_vid_path = relative_only
    try:
        yield
    finally:
        export_fbx_bin._gen_vid_path = original


def export_fbx(rig: HeadRig, path: Path | str) -> Path:
    """FBX with the same bones and shape keys (modifiers not applied, which would drop the keys),
    normals per polygon corner and tangents, textures embedded under relative paths, and Phong
    values that read as skin (_fbx_phong_values). Written under its own name in a staging folder
    beside PATH (the texture paths carry the file's stem), then moved into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{path.stem}.", dir=path.parent))
    tmp = stage / path.name
    try:
        with (_selected([rig.armature, rig.head]), _static_normals(rig), _fbx_phong_values(rig),
              _corner_normals(rig.head), _relative_texture_paths()):
            bpy.ops.export_scene.fbx(filepath=str(tmp), use_selection=True, object_types={"ARMATURE", "MESH"},
                                     use_mesh_modifiers=False, add_leaf_bones=False, path_mode="COPY",
                                     embed_textures=True, bake_anim=False, use_tspace=True)
        publish(tmp, path)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return path
