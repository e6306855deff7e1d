"""Headsmith Blender extension: photo -> rigged head whose expression and jaw sliders also move
the wrinkles. Talks to the local Headsmith backend over loopback; torch never runs in Blender.

Modules: strings (UI text), bundle_data + client + background (pure Python), and the bpy side:
rig_builder, materials, export, preview, preferences, operators, live, panel."""
import bpy

from . import live, operators, panel, preferences

_CLASSES = preferences.CLASSES + operators.CLASSES + panel.CLASSES


def register():
    for c in _CLASSES:
        bpy.utils.register_class(c)
    preferences.register_props()
    if not bpy.app.timers.is_registered(live.tick):
        bpy.app.timers.register(live.tick, first_interval=live.TICK_S, persistent=True)


def unregister():
    operators.stop_launched()
    if bpy.app.timers.is_registered(live.tick):
        bpy.app.timers.unregister(live.tick)
    preferences.unregister_props()
    for c in reversed(_CLASSES):
        bpy.utils.unregister_class(c)
