"""Headsmith Blender extension: photo -> rigged head whose expression and jaw sliders also move
the wrinkles. Talks to the local Headsmith backend over loopback; torch never runs in Blender.

Packages: core (no bpy: bundle reading, backend client and process, background jobs, UI strings;
importable and tested without Blender), scene (rig, materials, export, preview renders), ops
(operators, live wrinkles), ui (panel, preferences). bpy is imported only when Blender registers
the extension, so `import headsmith_blender.core` works in any Python."""


def _modules():
    from .ops import live, operators
    from .ui import panel, preferences
    return live, operators, panel, preferences


def register():
    import bpy

    live, operators, panel, preferences = _modules()
    for c in preferences.CLASSES + operators.CLASSES + panel.CLASSES:
        bpy.utils.register_class(c)
    preferences.register_props()
    if not bpy.app.timers.is_registered(live.tick):
        bpy.app.timers.register(live.tick, first_interval=live.TICK_S, persistent=True)


def unregister():
    import bpy

    from .core.backend_process import stop_launched

    live, operators, panel, preferences = _modules()
    stop_launched()
    if bpy.app.timers.is_registered(live.tick):
        bpy.app.timers.unregister(live.tick)
    preferences.unregister_props()
    for c in reversed(preferences.CLASSES + operators.CLASSES + panel.CLASSES):
        bpy.utils.unregister_class(c)
