"""Blender tests run in-process with the bpy wheel (Blender's user folders point into a temporary
folder: see the root conftest)."""
import sys
from pathlib import Path

import pytest

ADDON_SRC = Path(__file__).resolve().parents[2] / "blender_addon"
if str(ADDON_SRC) not in sys.path:
    sys.path.insert(0, str(ADDON_SRC))


@pytest.fixture
def empty_scene():
    import bpy

    bpy.ops.wm.read_factory_settings(use_empty=True)
    yield bpy


@pytest.fixture(scope="module")
def avatar(avatar_bundle):
    from headsmith_blender.core.bundle import read_avatar

    return read_avatar(avatar_bundle)


@pytest.fixture(scope="module")
def exported(tmp_path_factory, avatar_bundle):
    """The sample head built and exported, once per test module (another module's tests reset the
    scene): (rig, head.glb, head.fbx)."""
    import bpy

    from headsmith_blender.core.bundle import read_avatar
    from headsmith_blender.scene.export import export_fbx, export_glb
    from headsmith_blender.scene.rig_builder import build_head

    bpy.ops.wm.read_factory_settings(use_empty=True)
    rig = build_head(read_avatar(avatar_bundle), pack=False)
    out = tmp_path_factory.mktemp("export")
    return rig, export_glb(rig, out / "head.glb"), export_fbx(rig, out / "head.fbx")


@pytest.fixture
def registered_head(empty_scene, avatar):
    """The sample head built with the extension's classes registered, selected and active (for
    operators and panels); unregistered afterwards."""
    import bpy

    import headsmith_blender
    from headsmith_blender.scene.rig_builder import build_head

    headsmith_blender.register()
    rig = build_head(avatar, pack=False)
    for o in bpy.context.view_layer.objects:
        o.select_set(o == rig.head)
    bpy.context.view_layer.objects.active = rig.head
    yield rig
    headsmith_blender.unregister()


def action_fcurves(datablock):
    """F-curves of a datablock's action, in Blender 4.2 (legacy) and 4.4+ (layered actions)."""
    action = datablock.animation_data.action
    if hasattr(action, "fcurves") and len(getattr(action, "fcurves", [])):
        return list(action.fcurves)
    slot = datablock.animation_data.action_slot
    return [fc for layer in action.layers for strip in layer.strips for fc in strip.channelbag(slot).fcurves]
