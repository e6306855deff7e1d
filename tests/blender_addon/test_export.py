"""Exports of a built head: glTF validated by the Khronos validator (npm), FBX read back."""
import json
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

VALIDATOR = Path(__file__).resolve().parents[2] / "tools" / "gltf_validator"


def _glb_json(path):
    b = path.read_bytes()
    n = struct.unpack("<I", b[12:16])[0]
    return json.loads(b[20:20 + n])


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is needed for the Khronos glTF validator")
def test_glb_validates_with_zero_errors(exported):
    _, glb, _ = exported
    assert (VALIDATOR / "node_modules" / "gltf-validator").is_dir(), "run python3 dev.py setup (npm ci)"
    p = subprocess.run(["node", str(VALIDATOR / "validate.js"), str(glb)], capture_output=True, text=True, timeout=120)
    report = json.loads(p.stdout)
    assert report["issues"]["numErrors"] == 0, report["issues"]["messages"][:5]
    assert report["info"]["hasSkins"] and report["info"]["hasMorphTargets"] and report["info"]["hasTextures"]


def test_glb_content_and_wrinkle_sidecar(exported, avatar):
    rig, glb, _ = exported
    # the FBX export (in the fixture) left the head its own smooth normals
    assert not rig.head.data.has_custom_normals and rig.head.data.normals_domain == "POINT"
    j = _glb_json(glb)
    mesh = j["meshes"][0]
    names = [kb.name for kb in rig.head.data.shape_keys.key_blocks[1:]]
    assert mesh["extras"]["targetNames"] == names
    assert all(len(p["targets"]) == 52 and "TANGENT" in p["attributes"] for p in mesh["primitives"])
    joints = {j["nodes"][i]["name"] for i in j["skins"][0]["joints"]}
    assert joints == {"root", "neck", "head", "jaw", "eye.L", "eye.R"}
    skin_mat = next(m for m in j["materials"] if m["name"].endswith("Skin"))
    assert "normalTexture" in skin_mat and "baseColorTexture" in skin_mat["pbrMetallicRoughness"]
    # the skin's roughness map goes into glTF's metallicRoughness texture (G roughness, B metallic)
    pbr = skin_mat["pbrMetallicRoughness"]
    assert "metallicRoughnessTexture" in pbr and pbr.get("metallicFactor", 1.0) == 0.0
    assert pbr.get("roughnessFactor", 1.0) == 1.0     # the texture's G is the roughness itself
    side = json.loads(glb.with_suffix(".wrinkles.json").read_text())
    folder = glb.parent / side["folder"]
    assert side["morph_targets"] == names
    for f in list(side["normal_maps"].values()) + list(side["masks"].values()) + [side["static_normal_map"]]:
        assert (folder / f).is_file(), f
    # the engine route: every key map and mask in at most 6 RGBA textures
    packed = [*side["packed"]["normals"], *side["packed"]["masks"]]
    assert len(packed) <= 6 and all((folder / f).is_file() for f in packed)
    assert {k for ks in side["packed"]["normals"].values() for k in ks} == set(side["keys"])
    assert set(side["packed"]["regions"]) == set(side["regions"])
    # the sidecar's formula terms are morph target names (or the jaw / bias)
    for per_key in side["coefficients"].values():
        for terms in per_key.values():
            assert set(terms) - {"jaw_open_rad", "bias"} <= set(names)


def test_engine_sidecar_holds_to_its_schema(exported):
    """Issue 21's engine contract: the sidecar names its schema version, both formulas, the tangent
    convention, the weight range and every file of its folder, checked by the committed schema."""
    import jsonschema

    _, glb, _ = exported
    schema = json.loads((Path(__file__).resolve().parents[2] / "blender_addon" / "headsmith_blender" / "core"
                         / "engine_wrinkles.schema.json").read_text())
    side = json.loads(glb.with_suffix(".wrinkles.json").read_text())
    jsonschema.validate(side, schema)
    folder = glb.parent / side["folder"]
    assert sorted(p.name for p in folder.iterdir()) == side["files"]
    assert side["weight_range"] == [0, side["weight_max"]] and "OpenGL" in side["tangent_space"]["convention"]
    # jawOpen and the jaw bone each open the jaw's wrinkles: the sidecar says which angle matches
    assert 0.3 < side["jaw"]["jawOpen_equivalent_rad"] < 0.5 and "not both" in side["jaw"]["one_or_the_other"]
    broken = dict(side, schema="headsmith-engine-wrinkles/0")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_fbx_reads_back_with_bones_and_shape_keys(exported):
    import bpy

    _, _, fbx = exported
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.import_scene.fbx(filepath=str(fbx))
    meshes = [o for o in bpy.data.objects if o.type == "MESH"]
    arms = [o for o in bpy.data.objects if o.type == "ARMATURE"]
    assert len(meshes) == 1 and len(arms) == 1
    assert {"root", "neck", "head", "jaw", "eye.L", "eye.R"} <= {b.name for b in arms[0].data.bones}
    keys = meshes[0].data.shape_keys.key_blocks
    assert len(keys) == 53 and keys["mouthSmileLeft"] is not None
    # the FBX skin is a matte Phong: Blender's importer maps SpecularFactor x 2 to the specular
    # level and Shininess to roughness = 1 - sqrt(shininess) / 10
    skin = next(m for m in bpy.data.materials if m.name.endswith("Skin"))
    bsdf = next(n for n in skin.node_tree.nodes if n.bl_idname == "ShaderNodeBsdfPrincipled")
    assert bsdf.inputs["Specular IOR Level"].default_value <= 0.15
    assert bsdf.inputs["Roughness"].default_value >= 0.45
    assert bsdf.inputs["Base Color"].is_linked        # the albedo texture


def test_fbx_reads_in_assimp_with_normals_tangents_and_relative_paths(exported):
    """Issue 21: assimp (the importer behind Unity's and Godot's FBX paths, here the assimp-py
    wheel) got no normals from the per-vertex layer, no tangents, and texture paths holding the
    atomic write's temporary name and the build machine's folders."""
    import assimp_py
    import numpy as np

    _, _, fbx = exported
    scene = assimp_py.import_file(str(fbx), 0)          # no post-processing: only what the file holds
    head = max(scene.meshes, key=lambda m: m.num_vertices)
    v = np.asarray(head.vertices, np.float64).reshape(-1, 3)
    n = np.asarray(head.normals, np.float64).reshape(-1, 3)
    t = np.asarray(head.tangents, np.float64).reshape(-1, 3)
    assert n.shape == v.shape and t.shape == v.shape
    assert np.allclose(np.linalg.norm(n, axis=1), 1, atol=1e-3)
    assert np.abs((n * t).sum(1)).max() < 0.05                          # tangents lie in the surface
    # the file's normals are the surface's: against normals from assimp's own triangles
    tri = np.asarray(head.indices, np.int64).reshape(-1, 3)
    fn = np.cross(v[tri[:, 1]] - v[tri[:, 0]], v[tri[:, 2]] - v[tri[:, 0]])
    geo = np.zeros_like(v)
    for k in range(3):
        np.add.at(geo, tri[:, k], fn)
    geo /= np.linalg.norm(geo, axis=1, keepdims=True).clip(1e-12)
    assert np.median((geo * n).sum(1)) > 0.95
    # assimp 5.2.5 (Debian's) drops normals mapped ByVertice, which Blender writes for an all-smooth
    # mesh; this wheel's newer assimp reads them, so the mapping is checked in the file itself
    assert b"ByVertice" not in fbx.read_bytes()
    paths = [p for m in scene.materials for ps in m.get("TEXTURES", {}).values() for p in ps]
    assert paths and all(p.startswith(f"{fbx.stem}.fbm/") for p in paths), paths


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is needed for the Khronos glTF validator")
def test_flame_head_exports_valid_glb(tmp_path, flame_bundle):
    """A FLAME head (stand-in files, DECA wrinkles): 0 validator errors, 50 component morph targets,
    FLAME's joints, and the wrinkle sidecar keyed by component names."""
    import bpy

    from headsmith_blender.core.bundle import read_avatar
    from headsmith_blender.scene.export import export_glb
    from headsmith_blender.scene.rig_builder import build_head

    bpy.ops.wm.read_factory_settings(use_empty=True)
    rig = build_head(read_avatar(flame_bundle), pack=False)
    glb = export_glb(rig, tmp_path / "flame.glb")
    p = subprocess.run(["node", str(VALIDATOR / "validate.js"), str(glb)], capture_output=True, text=True, timeout=120)
    report = json.loads(p.stdout)
    assert report["issues"]["numErrors"] == 0, report["issues"]["messages"][:5]
    j = _glb_json(glb)
    assert j["meshes"][0]["extras"]["targetNames"] == [f"exp{i:03d}" for i in range(50)]
    assert {j["nodes"][i]["name"] for i in j["skins"][0]["joints"]} == {"root", "neck", "jaw", "eye.L", "eye.R"}
    side = json.loads(glb.with_suffix(".wrinkles.json").read_text())
    assert "exp000+" in side["normal_maps"] and side["morph_targets"][0] == "exp000"


def test_exports_get_the_users_normal_file_mode(exported):
    """Issue 18, finding 11: the exports were 0600 / 0700 (private temporaries renamed into
    place); they get what the umask gives, like the .blend."""
    from headsmith_blender.core.files import umask

    _, glb, fbx = exported
    um = umask()
    for f in (glb, fbx, glb.with_suffix(".wrinkles.json")):
        assert f.stat().st_mode & 0o777 == 0o666 & ~um, f
    folder = glb.with_name(f"{glb.stem}_wrinkles")
    assert folder.stat().st_mode & 0o777 == 0o777 & ~um
