"""Add-on preferences and the scene's Headsmith state (bpy)."""

import bpy
from bpy.props import (BoolProperty, CollectionProperty, EnumProperty, FloatProperty, IntProperty, PointerProperty,
                       StringProperty)

from ..core.client import DEFAULT_TOKEN_FILE, DEFAULT_URL
from ..core.ids import ADDON_PACKAGE
from ..core.strings import UI


def addon_key() -> str:
    return ADDON_PACKAGE


class HeadsmithPreferences(bpy.types.AddonPreferences):
    bl_idname = ADDON_PACKAGE

    backend_url: StringProperty(name=UI["backend_url"], description=UI["backend_url_tip"], default=DEFAULT_URL)
    allow_remote_backend: BoolProperty(name=UI["allow_remote"], description=UI["allow_remote_tip"], default=False)
    launch_command: StringProperty(name=UI["launch_command"], description=UI["launch_command_tip"],
                                   default="headsmith serve")
    token_file: StringProperty(name=UI["token_file"], description=UI["token_file_tip"], default=DEFAULT_TOKEN_FILE,
                               subtype="FILE_PATH")
    head_model: EnumProperty(name=UI["head_model"], items=[("openhead", "OpenHead", "Built-in CC0 head model"),
                                                            ("flame", "FLAME", "Your licensed FLAME model")])
    landmarks: EnumProperty(name=UI["landmarks"], items=[("mediapipe", "MediaPipe (dense, offline)",
                                                           "MediaPipe face mesh: 478 points with irises"),
                                                          ("dlib", "dlib (offline)", "dlib 68-point predictor"),
                                                          ("fan", "FAN", "face-alignment (downloads its weights)")])
    flame_path: StringProperty(name=UI["flame_path"], subtype="FILE_PATH")
    flame_landmarks: StringProperty(name=UI["flame_landmarks"], subtype="FILE_PATH")
    flame_uv: StringProperty(name=UI["flame_uv"], subtype="FILE_PATH")
    flame_masks: StringProperty(name=UI["flame_masks"], subtype="FILE_PATH")
    flame_mediapipe: StringProperty(name=UI["flame_mediapipe"], subtype="FILE_PATH")
    flame_albedo: StringProperty(name=UI["flame_albedo"], subtype="FILE_PATH")
    deca_path: StringProperty(name=UI["deca_path"], subtype="FILE_PATH")
    live_size: EnumProperty(name="Live map size", items=[("512", "512", ""), ("1024", "1024", "")], default="1024")

    def draw(self, context):
        col = self.layout.column()
        col.label(text=UI["backend"])
        for p in ("backend_url", "allow_remote_backend", "launch_command", "token_file"):
            col.prop(self, p)
        col.separator()
        for p in ("head_model", "landmarks", "flame_path", "flame_landmarks", "flame_uv", "flame_masks", "flame_mediapipe",
                  "flame_albedo", "deca_path", "live_size"):
            col.prop(self, p)


def prefs(context=None) -> HeadsmithPreferences | None:
    context = context or bpy.context
    addon = context.preferences.addons.get(ADDON_PACKAGE)
    return addon.preferences if addon else None


class HeadsmithPhoto(bpy.types.PropertyGroup):
    path: StringProperty(name="Photo", subtype="FILE_PATH")


class HeadsmithSceneState(bpy.types.PropertyGroup):
    photos: CollectionProperty(type=HeadsmithPhoto)
    quality: EnumProperty(name=UI["quality"], items=[("fast", "Fast", ""), ("default", "Default", ""),
                                                      ("high", "High", "")], default="default")
    status: StringProperty(name="Status", default=UI["status_idle"])
    is_error: BoolProperty(default=False)
    busy: BoolProperty(default=False)
    stage: StringProperty(default="")
    progress: FloatProperty(default=0.0, min=0.0, max=1.0, subtype="FACTOR")
    job_id: StringProperty(default="")
    live_updates: IntProperty(default=0, description="live wrinkle maps received (diagnostics)")


CLASSES = (HeadsmithPreferences, HeadsmithPhoto, HeadsmithSceneState)


def register_props():
    bpy.types.Scene.headsmith = PointerProperty(type=HeadsmithSceneState)


def unregister_props():
    del bpy.types.Scene.headsmith
