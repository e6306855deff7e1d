"""Headsmith Blender extension: photo -> rigged head whose expression and jaw sliders also move
the wrinkles. Talks to the local Headsmith backend over loopback; torch never runs in Blender.

Packages: core (no bpy: bundle reading, backend client and process, background jobs, UI strings;
importable and tested without Blender), scene (rig, materials, export, preview renders), ops
(operators, live wrinkles), ui (panel, preferences). bpy is imported only when Blender registers
the extension, so `import headsmith_blender.core` works in any Python."""


def _parts():
    """-> (the live-wrinkle module, whose timer runs while the extension is on; the bpy classes
    in registration order). Imported here, not at the top, so core stays importable without bpy."""
    from .ops import live, operators
    from .ui import panel, preferences
    return live, preferences, preferences.CLASSES + operators.CLASSES + panel.CLASSES


def register():
    import bpy

    live, preferences, classes = _parts()
    for c in classes:
        bpy.utils.register_class(c)
    preferences.register_props()
    if not bpy.app.timers.is_registered(live.tick):
        bpy.app.timers.register(live.tick, first_interval=live.TICK_S, persistent=True)


def unregister():
    import bpy

    from .core.backend_process import stop_launched

    live, preferences, classes = _parts()
    stop_launched()
    if bpy.app.timers.is_registered(live.tick):
        bpy.app.timers.unregister(live.tick)
    preferences.unregister_props()
    for c in reversed(classes):
        bpy.utils.unregister_class(c)
