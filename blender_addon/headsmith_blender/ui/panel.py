"""The N-panel "Headsmith" in the 3D view (bpy): photos, reconstruct/cancel with progress, and for
the active head: the live/baked wrinkle switch, one jaw control, expression presets and reset,
"Key Face", the Live Link take import, video tracking and the exports, with folding sub-panels of shape-key sliders
per face area and of the head and eye bones."""

import bpy

from ..core.expression_presets import PRESETS
from ..core.strings import UI
from ..scene.materials import LIVE_PROP
from ..scene.rig_builder import active_head, armature_of
from .preferences import prefs

# the one jaw control: the jawOpen shape key opens the mouth and (through the wrinkle drivers) its
# wrinkles; the jaw bone, which does the same for engines and hand posing, is not on the panel, so
# the two are never turned together (that would open the mouth twice)
JAW_CONTROL = "jawOpen"

SLIDER_GROUPS = {  # panel box -> shape key name prefixes
    "Brows": ("brow",),
    "Eyes": ("eye",),
    "Cheeks & nose": ("cheek", "nose"),
    "Mouth": ("mouth",),
    "Jaw & tongue": ("jaw", "tongue"),
}


class _InSidebar:
    """Where every Headsmith panel lives: the 3D view's sidebar, tab "Headsmith"."""
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = UI["panel"]


class _HeadSubPanel(_InSidebar):
    """A folding sub-panel of the head panel."""
    bl_parent_id = "HEADSMITH_PT_head"
    bl_options = {"DEFAULT_CLOSED"}


class HEADSMITH_PT_main(_InSidebar, bpy.types.Panel):
    bl_label = UI["panel"]
    bl_idname = "HEADSMITH_PT_main"

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


class HEADSMITH_PT_head(_InSidebar, bpy.types.Panel):
    """The selected head: wrinkles, the one jaw control, presets, keying, takes and exports; the
    sliders fold away in one sub-panel per face area (below)."""
    bl_label = "Head"
    bl_idname = "HEADSMITH_PT_head"

    @classmethod
    def poll(cls, context):
        return active_head(context) is not None

    def draw(self, context):
        head = active_head(context)
        col = self.layout.column()
        col.prop(head, f'["{LIVE_PROP}"]', text=UI["live"])
        keys = head.data.shape_keys.key_blocks if head.data.shape_keys else {}
        if JAW_CONTROL in keys:
            col.prop(keys[JAW_CONTROL], "value", text=UI["jaw_open"], slider=True)
        col.label(text=UI["presets"])
        grid = col.grid_flow(columns=3, align=True)
        for name in PRESETS:
            grid.operator("headsmith.expression_preset", text=UI[f"preset_{name}"]).preset = name
        grid.operator("headsmith.expression_preset", text=UI["preset_reset"], icon="LOOP_BACK").preset = "reset"
        col.operator("headsmith.key_face", icon="KEYFRAME_HLT")
        row = col.row(align=True)
        row.operator("headsmith.import_live_link", icon="ANIM")
        sub = row.row(align=True)
        sub.enabled = not context.scene.headsmith.busy
        sub.operator("headsmith.track_video", icon="FILE_MOVIE")
        row = col.row(align=True)
        row.operator("headsmith.export_gltf", icon="EXPORT")
        row.operator("headsmith.export_fbx", icon="EXPORT")


class _FaceAreaPanel(_HeadSubPanel):
    """The shape-key sliders of one face area."""
    prefixes: tuple = ()

    @classmethod
    def poll(cls, context):
        head = active_head(context)
        return head is not None and bool(face_area_keys(head, cls.prefixes))

    def draw(self, context):
        head = active_head(context)
        col = self.layout.column(align=True)
        for kb in face_area_keys(head, self.prefixes):
            col.prop(kb, "value", text=kb.name, slider=True)


def face_area_keys(head, prefixes: tuple) -> list:
    """The area's shape keys (the jaw control's own key is drawn once, on the head panel); with
    no prefixes, the keys no area claims (e.g. FLAME's components)."""
    keys = head.data.shape_keys.key_blocks[1:] if head.data.shape_keys else []
    if not prefixes:
        claimed = tuple(p for ps in SLIDER_GROUPS.values() for p in ps)
        return [kb for kb in keys if not kb.name.startswith(claimed)]
    return [kb for kb in keys if kb.name.startswith(prefixes) and kb.name != JAW_CONTROL]


class HEADSMITH_PT_head_bones(_HeadSubPanel, bpy.types.Panel):
    bl_label = UI["head_eyes"]
    bl_idname = "HEADSMITH_PT_head_bones"

    @classmethod
    def poll(cls, context):
        head = active_head(context)
        return head is not None and armature_of(head) is not None

    def draw(self, context):
        arm = armature_of(active_head(context))
        col = self.layout.column()
        for bone, label in (("neck", "Neck"), ("head", "Head"), ("eye.L", "Eye L"), ("eye.R", "Eye R")):
            if bone in arm.pose.bones:
                col.prop(arm.pose.bones[bone], "rotation_euler", text=label)


def _area_panel(title: str, prefixes: tuple, order: int):
    name = "HEADSMITH_PT_area_" + "".join(c for c in title.lower() if c.isalnum())
    return type(name, (_FaceAreaPanel, bpy.types.Panel), {"bl_label": title, "bl_idname": name,
                                                         "bl_order": order, "prefixes": prefixes})


AREA_PANELS = tuple(_area_panel(t, p, i) for i, (t, p) in enumerate([*SLIDER_GROUPS.items(),
                                                                      (UI["expressions"], ())]))
CLASSES = (HEADSMITH_PT_main, HEADSMITH_PT_head, *AREA_PANELS, HEADSMITH_PT_head_bones)
