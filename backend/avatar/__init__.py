"""Photo -> finished avatar without the Blender UI: reconstruction, wrinkle maps, then the rig,
.blend, .glb/.fbx and avatar.png built by the extension's own builder in a bpy subprocess (torch and
bpy never share a process); and a captured take keyed onto such a head (`run_animate_job`)."""
from .make import AvatarError, make_avatar, run_animate_job

__all__ = ["AvatarError", "make_avatar", "run_animate_job"]
