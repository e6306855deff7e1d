"""Names Blender knows the extension by (no bpy)."""

# The extension's package: "headsmith_blender" from a folder, "bl_ext.<repo>.headsmith_blender"
# when installed as an extension. Preferences and per-user data are filed under it.
ADDON_PACKAGE = __package__.rpartition(".")[0]
