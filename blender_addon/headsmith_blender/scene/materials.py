"""Materials of the head (bpy): albedo, the static normal map, and the wrinkle blend.

The skin's tangent-space normal colour is

    N = N_static + sum_k W_k(uv) * (N_k - N_static),   W_k(uv) = sum_r w_rk * mask_r(uv)

with N_k the baked key-expression normal maps, mask_r the region masks and w_rk Value nodes whose
drivers read the shape keys and the jaw bone (simple expressions: no Python per frame, so playback,
`blender -b` renders and exports all see moving wrinkles). A Mix node switches to the live
normal map (re-decoded by the backend when sliders change) when the head's `headsmith_live`
property is 1. Eyes, teeth and tongue use the albedo atlas with their own surface settings.

The surfaces (SURFACES) are Principled BSDFs: skin scatters under the surface (Christensen-
Burley rather than random walk, for the preview's noise and time: benchmarks/NOTES.md) with radii from skin's measured mean free paths (red
3.67, green 1.37, blue 0.68 mm; Jensen et al. 2001), IOR 1.4, and its roughness from the bundle's roughness map (G of
roughness.png, by face region) when the bundle has one; the eyes are wet (a clear coat at the
cornea's IOR); teeth and tongue scatter a little and the tongue is wet.
"""
from __future__ import annotations

import dataclasses

import bpy
import numpy as np

from ..core.bundle import AvatarData, DriverSpec, driver_specs

LIVE_PROP = "headsmith_live"
STATIC_NORMAL_NODE = "Static Normal"
NORMAL_MAP_NODE = "Normal Map"
BLEND_OUTPUT_NODE = "Wrinkle Blend"
LIVE_NODE = "Live Normal"
DISPLACEMENT_NODE = "Displacement"


def _image(path, non_color: bool, pack: bool) -> bpy.types.Image:
    img = bpy.data.images.load(str(path), check_existing=False)
    if non_color:
        img.colorspace_settings.name = "Non-Color"
    if pack:
        img.pack()
    return img


def live_image(name: str, size: int) -> bpy.types.Image:
    """The image the live wrinkle updates write into (flat normal until the first update)."""
    img = bpy.data.images.get(name)
    if img is None or tuple(img.size) != (size, size):
        if img is not None:
            bpy.data.images.remove(img)
        img = bpy.data.images.new(name, size, size, alpha=False, float_buffer=False, is_data=True)
        img.colorspace_settings.name = "Non-Color"
        flat = np.empty((size, size, 4), np.float32)
        flat[:] = (0.5, 0.5, 1.0, 1.0)
        img.pixels.foreach_set(flat.ravel())
        img.pack()
    return img


def _socket(sockets, name: str, kind: str):
    """The socket called `name` of type `kind`: the Mix node has one A/B/Result per data type."""
    return next(s for s in sockets if s.name == name and s.type == kind)


def _tex(nodes, image, x, y, label=None):
    n = nodes.new("ShaderNodeTexImage")
    n.image = image
    n.location = (x, y)
    if label:
        n.name = n.label = label
    return n


@dataclasses.dataclass(frozen=True)
class Surface:
    """Principled BSDF settings of one material slot (lengths in metres)."""
    roughness: float
    ior: float = 1.4
    subsurface: float = 0.0                   # Subsurface Weight
    radius: tuple = (1.0, 0.373, 0.185)       # per channel, times subsurface_scale_m
    subsurface_scale_m: float = 0.00367
    coat: float = 0.0                         # Coat Weight: a wet film
    coat_roughness: float = 0.03
    coat_ior: float = 1.376                   # the cornea's


SURFACES = {"Skin": Surface(0.5, subsurface=1.0),
            "Eyes": Surface(0.3, ior=1.376, coat=1.0),
            "Teeth": Surface(0.25, ior=1.54, subsurface=0.2, subsurface_scale_m=0.001),
            "Tongue": Surface(0.4, subsurface=1.0, coat=0.6, coat_roughness=0.1, coat_ior=1.33)}
ROUGHNESS_NODE = "Roughness Map"


def _principled(nt, surface: Surface):
    out = nt.nodes.new("ShaderNodeOutputMaterial")
    out.location = (900, 0)
    bsdf = nt.nodes.new("ShaderNodeBsdfPrincipled")
    bsdf.location = (600, 0)
    inputs = bsdf.inputs
    inputs["Roughness"].default_value = surface.roughness
    inputs["IOR"].default_value = surface.ior
    inputs["Specular IOR Level"].default_value = 0.5          # F0 from the IOR alone
    if surface.subsurface:
        bsdf.subsurface_method = "BURLEY"
        inputs["Subsurface Weight"].default_value = surface.subsurface
        inputs["Subsurface Radius"].default_value = surface.radius
        inputs["Subsurface Scale"].default_value = surface.subsurface_scale_m
    if surface.coat:
        inputs["Coat Weight"].default_value = surface.coat
        inputs["Coat Roughness"].default_value = surface.coat_roughness
        inputs["Coat IOR"].default_value = surface.coat_ior
    nt.links.new(bsdf.outputs["BSDF"], out.inputs["Surface"])
    return bsdf


def _roughness_map(nt, uvn, bsdf, image) -> None:
    """Roughness <- G of the occlusion-roughness-metallic map (the layout glTF exporters read)."""
    tex = _tex(nt.nodes, image, -300, 0, ROUGHNESS_NODE)
    nt.links.new(uvn.outputs["UV"], tex.inputs["Vector"])
    sep = nt.nodes.new("ShaderNodeSeparateColor")
    sep.location = (0, 0)
    nt.links.new(tex.outputs["Color"], sep.inputs["Color"])
    nt.links.new(sep.outputs["Green"], bsdf.inputs["Roughness"])


def _add_driver(socket, spec: DriverSpec, shape_keys: bpy.types.Key, armature: bpy.types.Object | None):
    fc = socket.driver_add("default_value")
    drv = fc.driver
    drv.type = "SCRIPTED"
    for i, name in enumerate(spec.shape_keys):
        v = drv.variables.new()
        v.name, v.type = f"s{i}", "SINGLE_PROP"
        v.targets[0].id_type = "KEY"
        v.targets[0].id = shape_keys
        v.targets[0].data_path = f'key_blocks["{name}"].value'
    jaw = spec.jaw_coef if armature is not None else 0.0
    if jaw:
        v = drv.variables.new()
        v.name, v.type = "jaw", "TRANSFORMS"
        v.targets[0].id = armature
        v.targets[0].bone_target = "jaw"
        v.targets[0].transform_type = "ROT_X"
        v.targets[0].transform_space = "LOCAL_SPACE"
    spec = dataclasses.replace(spec, jaw_coef=jaw)
    drv.expression = spec.expression
    return fc


def build_materials(obj: bpy.types.Object, avatar: AvatarData, armature: bpy.types.Object | None,
                    pack: bool = True, live_size: int = 1024, true_displacement: bool = False) -> dict:
    """Create and assign the four materials; returns {slot name: material}. The skin always has a
    Displacement node fed by the static displacement map (metres); it is linked to the output,
    with Cycles true displacement, only when `true_displacement` (that needs a subdivided mesh)."""
    name = avatar.name
    albedo = _image(avatar.albedo, False, pack)
    normal = _image(avatar.normal, True, pack)
    roughness = None if avatar.roughness is None else _image(avatar.roughness, True, pack)
    mats = {}
    for slot, surface in SURFACES.items():
        mat = bpy.data.materials.new(f"{name} {slot}")
        nt = mat.node_tree if mat.node_tree is not None else None
        if nt is None:                      # Blender < 5 creates the tree on use_nodes
            mat.use_nodes = True
            nt = mat.node_tree
        nt.nodes.clear()
        bsdf = _principled(nt, surface)
        uvn = nt.nodes.new("ShaderNodeUVMap")
        uvn.uv_map, uvn.location = "UVMap", (-1400, 200)
        base = _tex(nt.nodes, albedo, -300, 300, "Albedo")
        nt.links.new(uvn.outputs["UV"], base.inputs["Vector"])
        nt.links.new(base.outputs["Color"], bsdf.inputs["Base Color"])
        if slot == "Skin":
            if roughness is not None:
                _roughness_map(nt, uvn, bsdf, roughness)
            _skin_normals(nt, uvn, bsdf, avatar, normal, obj, armature, pack, live_size)
            _displacement(nt, uvn, avatar, pack, true_displacement)
            mat.displacement_method = "DISPLACEMENT" if true_displacement else "BUMP"
        obj.data.materials.append(mat)
        mats[slot] = mat
    return mats


def _skin_normals(nt, uvn, bsdf, avatar, normal, obj, armature, pack, live_size):
    nodes, links = nt.nodes, nt.links
    n0 = _tex(nodes, normal, -1100, -100, STATIC_NORMAL_NODE)
    links.new(uvn.outputs["UV"], n0.inputs["Vector"])
    nm = nodes.new("ShaderNodeNormalMap")
    nm.name = nm.label = NORMAL_MAP_NODE
    nm.space, nm.uv_map, nm.location = "TANGENT", "UVMap", (350, -200)
    links.new(nm.outputs["Normal"], bsdf.inputs["Normal"])
    blended = n0.outputs["Color"]
    wr = avatar.wrinkles
    if wr is not None:
        blended = _wrinkle_blend(nt, uvn, n0, wr, obj, armature, pack)
    live = _tex(nodes, live_image(f"{avatar.name} live normal", live_size), -300, -500, LIVE_NODE)
    links.new(uvn.outputs["UV"], live.inputs["Vector"])
    mix = nodes.new("ShaderNodeMix")
    mix.data_type, mix.name, mix.label, mix.location = "RGBA", "Live Switch", "Live Switch", (150, -250)
    links.new(blended, _socket(mix.inputs, "A", "RGBA"))
    links.new(live.outputs["Color"], _socket(mix.inputs, "B", "RGBA"))
    fc = _socket(mix.inputs, "Factor", "VALUE").driver_add("default_value")
    v = fc.driver.variables.new()
    v.name, v.type = "live", "SINGLE_PROP"
    v.targets[0].id_type = "OBJECT"
    v.targets[0].id = obj
    v.targets[0].data_path = f'["{LIVE_PROP}"]'
    fc.driver.type = "SCRIPTED"
    fc.driver.expression = "live"
    links.new(_socket(mix.outputs, "Result", "RGBA"), nm.inputs["Color"])


def _displacement(nt, uvn, avatar, pack, link: bool):
    """height (metres) = (value - 0.5) * 2 * scale, the bundle's 16-bit encoding."""
    nodes = nt.nodes
    tex = _tex(nodes, _image(avatar.displacement, True, pack), -300, -800, "Static Displacement")
    nt.links.new(uvn.outputs["UV"], tex.inputs["Vector"])
    sub = nodes.new("ShaderNodeMath")
    sub.operation, sub.location = "SUBTRACT", (0, -800)
    sub.inputs[1].default_value = 0.5
    nt.links.new(tex.outputs["Color"], sub.inputs[0])
    disp = nodes.new("ShaderNodeDisplacement")
    disp.name = disp.label = DISPLACEMENT_NODE
    disp.location = (300, -800)
    disp.inputs["Midlevel"].default_value = 0.0
    disp.inputs["Scale"].default_value = 2.0 * avatar.displacement_scale
    nt.links.new(sub.outputs[0], disp.inputs["Height"])
    if link:
        out = next(n for n in nodes if n.bl_idname == "ShaderNodeOutputMaterial")
        nt.links.new(disp.outputs["Displacement"], out.inputs["Displacement"])


def _wrinkle_blend(nt, uvn, n0, wr, obj, armature, pack):
    nodes, links = nt.nodes, nt.links
    masks = {}
    for i, r in enumerate(wr.regions):
        t = _tex(nodes, _image(wr.folder / wr.masks[r], True, pack), -1100, -400 - 250 * i, f"Mask {r}")
        links.new(uvn.outputs["UV"], t.inputs["Vector"])
        masks[r] = t
    by_key: dict[str, list[DriverSpec]] = {}
    for spec in driver_specs(wr):
        by_key.setdefault(spec.key, []).append(spec)
    acc = n0.outputs["Color"]
    y = 400
    for key in wr.keys:
        specs = by_key.get(key, [])
        if not specs:
            continue
        nk = _tex(nodes, _image(wr.folder / wr.normal_maps[key], True, pack), -800, y, f"Wrinkle {key}")
        links.new(uvn.outputs["UV"], nk.inputs["Vector"])
        diff = nodes.new("ShaderNodeVectorMath")
        diff.operation, diff.location = "SUBTRACT", (-500, y)
        links.new(nk.outputs["Color"], diff.inputs[0])
        links.new(n0.outputs["Color"], diff.inputs[1])
        weight = None
        for spec in specs:
            val = nodes.new("ShaderNodeValue")
            val.name = val.label = f"w {spec.region} {key}"
            val.location = (-800, y - 60)
            _add_driver(val.outputs[0], spec, obj.data.shape_keys, armature)
            mul = nodes.new("ShaderNodeMath")
            mul.operation = "MULTIPLY"
            links.new(masks[spec.region].outputs["Color"], mul.inputs[0])
            links.new(val.outputs[0], mul.inputs[1])
            if weight is None:
                weight = mul.outputs[0]
            else:
                add = nodes.new("ShaderNodeMath")
                add.operation = "ADD"
                links.new(weight, add.inputs[0])
                links.new(mul.outputs[0], add.inputs[1])
                weight = add.outputs[0]
        scale = nodes.new("ShaderNodeVectorMath")
        scale.operation, scale.location = "SCALE", (-300, y)
        links.new(diff.outputs["Vector"], scale.inputs[0])
        links.new(weight, scale.inputs["Scale"])
        add = nodes.new("ShaderNodeVectorMath")
        add.operation, add.location = "ADD", (-100, y)
        links.new(acc, add.inputs[0])
        links.new(scale.outputs["Vector"], add.inputs[1])
        acc = add.outputs["Vector"]
        y -= 300
    acc.node.name = acc.node.label = BLEND_OUTPUT_NODE
    return acc


def wrinkle_weight_nodes(mat: bpy.types.Material) -> dict:
    """{(region, key): Value node} of a skin material (tests, UI)."""
    out = {}
    for n in mat.node_tree.nodes:
        if n.bl_idname == "ShaderNodeValue" and n.name.startswith("w "):
            _, region, key = n.name.split(" ", 2)
            out[(region, key)] = n
    return out
