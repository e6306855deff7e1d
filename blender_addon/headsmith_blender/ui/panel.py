"""The N-panel "Headsmith" in the 3D view (bpy): photos, reconstruct/cancel with progress, and for
the active head: the live/baked wrinkle switch, expression sliders by face area, jaw/neck/eye
controls and the exports."""

import bpy

from ..scene.materials import LIVE_PROP
from ..scene.rig_builder import active_head, armature_of
from ..core.strings import UI
from .preferences import prefs

SLIDER_GROUPS = {  # panel box -> shape key name prefixes
    "Brows": ("brow",),
    "Eyes": ("eye",),
    "Cheeks & nose": ("cheek", "nose"),
    "Mouth": ("mouth",),
    "Jaw & tongue": ("jaw", "tongue"),
}


class HEADSMITH_PT_main(bpy.types.Panel):
    bl_label = UI["panel"]
    bl_idname = "HEADSMITH_PT_main"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = UI["panel"]

    def draw(self, context):
        st = context.scene.headsmith
        col = self.layout.column()
        col.label(text=UI["photos"])
        for p in st.photos:
            col.label(text=bpy.path.basename(p.path), icon="IMAGE_DATA")
        row = col.row(align=True)
        row.operator("headsmith.add_photo", icon="ADD")
        row.operator("headsmith.clear_photos", icon="X")
        col.prop(st, "quality")
        row = col.row(align=True)
        row.enabled = not st.busy
        row.operator("headsmith.reconstruct", icon="USER")
        if st.busy:
            col.prop(st, "progress", text=st.stage or UI["status_busy"], slider=True)
            col.operator("headsmith.cancel", icon="CANCEL")
        col.label(text=st.status, icon="ERROR" if st.is_error else "INFO")
        p = prefs(context)
        if p is not None and p.allow_remote_backend:
            col.label(text=UI["remote_on"], icon="ERROR")
        col.operator("headsmith.import_bundle", icon="FILE_FOLDER")


class HEADSMITH_PT_head(bpy.types.Panel):
    bl_label = "Head"
    bl_idname = "HEADSMITH_PT_head"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = UI["panel"]

    @classmethod
    def poll(cls, context):
        return active_head(context) is not None

    def draw(self, context):
        head = active_head(context)
        col = self.layout.column()
        box = col.box()
        box.label(text=UI["wrinkles"])
        box.prop(head, f'["{LIVE_PROP}"]', text=UI["live"])
        arm = armature_of(head)
        if arm is not None:
            box = col.box()
            box.label(text=UI["jaw"])
            for bone, label in (("jaw", "Jaw open"), ("neck", "Neck"), ("head", "Head"), ("eye.L", "Eye L"),
                                ("eye.R", "Eye R")):
                if bone in arm.pose.bones:
                    box.prop(arm.pose.bones[bone], "rotation_euler", text=label, index=0 if bone == "jaw" else -1)
        keys = head.data.shape_keys.key_blocks[1:] if head.data.shape_keys else []
        for title, prefixes in SLIDER_GROUPS.items():
            group = [kb for kb in keys if kb.name.startswith(prefixes)]
            if not group:
                continue
            box = col.box()
            box.label(text=title)
            for kb in group:
                box.prop(kb, "value", text=kb.name, slider=True)
        other = [kb for kb in keys if not any(kb.name.startswith(p) for ps in SLIDER_GROUPS.values() for p in ps)]
        if other:
            box = col.box()
            box.label(text=UI["expressions"])
            for kb in other:
                box.prop(kb, "value", text=kb.name, slider=True)
        col.operator("headsmith.import_live_link", icon="ANIM")
        row = col.row(align=True)
        row.operator("headsmith.export_gltf", icon="EXPORT")
        row.operator("headsmith.export_fbx", icon="EXPORT")


CLASSES = (HEADSMITH_PT_main, HEADSMITH_PT_head)
