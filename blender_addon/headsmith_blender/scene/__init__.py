"""What the extension builds in a Blender scene (bpy): the rig, its materials and wrinkle
drivers, glTF/FBX export, preview renders."""
