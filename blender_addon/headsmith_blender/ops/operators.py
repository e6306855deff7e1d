"""Operators (bpy). Reconstruct never blocks: the backend conversation runs in a worker thread
(background.run) and the rig is built on the main thread when the bundle has arrived."""

import threading
import time
from pathlib import Path

import bpy
from bpy.props import BoolProperty, CollectionProperty, EnumProperty, IntProperty, StringProperty
from bpy_extras.io_utils import ExportHelper, ImportHelper

from ..core import background
from ..core.backend_process import client_for, default_token_file, ensure_backend
from ..core.bundle import BundleError, read_avatar
from ..core.client import DEFAULT_URL, BackendClient, BackendError
from ..core.ids import ADDON_PACKAGE
from ..core.strings import MESSAGES, UI
from ..scene.rig_builder import active_head, build_head, rig_of
from ..ui.preferences import prefs

AVATAR_ID_PROP = "headsmith_avatar_id"
_cancel = threading.Event()


def set_status(scene, text: str, error: bool = False) -> None:
    st = scene.headsmith
    st.status, st.is_error = text, error
    for win in getattr(bpy.context.window_manager, "windows", []):
        try:
            win.workspace.status_text_set(text or None)
        except (AttributeError, RuntimeError):
            pass
    for area in getattr(bpy.context.screen, "areas", []) if bpy.context.screen else []:
        area.tag_redraw()


def make_client(context=None, timeout: float = 2.0) -> BackendClient:
    """The backend client from the preferences (headless scripts, with no enabled extension and so
    no preferences, name the token file in the environment: core.backend_process)."""
    p = prefs(context)
    return client_for(p.backend_url if p else DEFAULT_URL, p.token_file if p else default_token_file(), timeout,
                      allow_remote=bool(p and p.allow_remote_backend))


class HEADSMITH_OT_add_photo(bpy.types.Operator, ImportHelper):
    bl_idname = "headsmith.add_photo"
    bl_label = UI["add_photo"]
    filter_glob: StringProperty(default="*.jpg;*.jpeg;*.png;*.tif;*.tiff;*.bmp;*.webp", options={"HIDDEN"})
    files: CollectionProperty(type=bpy.types.OperatorFileListElement, options={"HIDDEN", "SKIP_SAVE"})

    def execute(self, context):
        folder = Path(self.filepath).parent
        names = [f.name for f in self.files if f.name] or [Path(self.filepath).name]
        for n in names:
            context.scene.headsmith.photos.add().path = str(folder / n)
        return {"FINISHED"}


class HEADSMITH_OT_clear_photos(bpy.types.Operator):
    bl_idname = "headsmith.clear_photos"
    bl_label = UI["clear_photos"]

    def execute(self, context):
        context.scene.headsmith.photos.clear()
        return {"FINISHED"}


def user_folder(name: str) -> Path:
    """The extension's folder `name` (bundles, takes) in Blender's per-user extension data; a
    temporary one when the code runs as a plain add-on (the tests' headless scripts)."""
    if hasattr(bpy.utils, "extension_path_user") and ADDON_PACKAGE.startswith("bl_ext."):
        return Path(bpy.utils.extension_path_user(ADDON_PACKAGE, path=name, create=True))
    return Path(bpy.app.tempdir or "/tmp") / f"headsmith_{name}"


def wait_for_job(client: BackendClient, job: dict, report) -> dict:
    """Follow a backend job (worker thread) until it ends, posting report(stage, fraction, id) to
    the main thread and honouring the panel's Cancel. -> the done job; BackendError otherwise."""
    jid = job["id"]
    while job["state"] in ("queued", "running"):
        if _cancel.is_set():
            client.cancel(jid)
            raise BackendError(MESSAGES["cancelled"])
        background.post(report, job["stage"] or job["state"], float(job["progress"]), jid)
        time.sleep(0.3)
        job = client.job(jid)
    if job["state"] != "done":
        raise BackendError(MESSAGES["job_failed"].format(message=job.get("error") or job["state"]))
    return job


def start_backend_task(context, task, done) -> None:
    """Run task(client, report) off the main thread with the backend the preferences name
    (started when it does not answer and a launch command is set); the scene shows busy,
    progress and Cancel meanwhile, then done(scene, result) runs on the main thread, or the
    error is shown."""
    p = prefs(context)
    launch = p.launch_command if p else ""
    token_file = p.token_file if p else default_token_file()
    url = p.backend_url if p else DEFAULT_URL
    allow_remote = bool(p and p.allow_remote_backend)
    scene_name = context.scene.name
    st = context.scene.headsmith
    _cancel.clear()
    st.busy, st.progress, st.stage, st.job_id = True, 0.0, "", ""
    set_status(context.scene, UI["status_busy"])

    def report(stage, frac, jid):
        s = bpy.data.scenes.get(scene_name)
        if s is not None:
            s.headsmith.stage, s.headsmith.progress, s.headsmith.job_id = stage, frac, jid
            set_status(s, f"Headsmith: {stage} {frac * 100:.0f}%")

    def work():
        return task(ensure_backend(launch, token_file, url, allow_remote=allow_remote), report)

    def finished(res):
        s = bpy.data.scenes.get(scene_name)
        if s is not None:
            s.headsmith.busy = False
            done(s, res)

    def failed(e):
        s = bpy.data.scenes.get(scene_name)
        if s is not None:
            s.headsmith.busy = False
            set_status(s, str(e), True)

    background.run(work, finished, failed)


class HEADSMITH_OT_reconstruct(bpy.types.Operator):
    bl_idname = "headsmith.reconstruct"
    bl_label = UI["reconstruct"]
    bl_description = UI["reconstruct_tip"]

    def execute(self, context):
        st = context.scene.headsmith
        if st.busy:
            self.report({"WARNING"}, MESSAGES["busy"])
            return {"CANCELLED"}
        photos = [Path(bpy.path.abspath(p.path)) for p in st.photos if p.path]
        if not photos:
            set_status(context.scene, MESSAGES["no_photos"], True)
            self.report({"ERROR"}, MESSAGES["no_photos"])
            return {"CANCELLED"}
        p = prefs(context)
        landmarks = p.landmarks if p else "mediapipe"
        model = p.head_model if p else "openhead"
        flame = {k: bpy.path.abspath(getattr(p, k)) for k in ("flame_path", "flame_landmarks", "flame_uv",
                                                              "flame_masks", "flame_mediapipe", "flame_albedo",
                                                              "deca_path")} \
            if p and model == "flame" else None
        quality = st.quality
        target = user_folder("bundles")

        def task(client, report):
            job = client.submit(photos, quality=quality, landmarks=landmarks, model=model, flame=flame)
            jid = wait_for_job(client, job, report)["id"]
            folder = client.download_bundle(jid, target / jid)
            avatar = client.open_avatar(job=jid)["id"] if (folder / "wrinkles").is_dir() else ""
            return folder, avatar

        def done(scene, res):
            folder, avatar_id = res
            try:
                rig = build_head(read_avatar(folder))
            except BundleError as e:
                set_status(scene, str(e), True)
                return
            if avatar_id:
                rig.head[AVATAR_ID_PROP] = avatar_id
            scene.headsmith.progress = 1.0
            set_status(scene, MESSAGES["done"].format(name=rig.head.name))

        start_backend_task(context, task, done)
        return {"FINISHED"}


class HEADSMITH_OT_cancel(bpy.types.Operator):
    bl_idname = "headsmith.cancel"
    bl_label = UI["cancel"]
    bl_description = UI["cancel_tip"]

    def execute(self, context):
        _cancel.set()
        return {"FINISHED"}


class HEADSMITH_OT_import_bundle(bpy.types.Operator):
    bl_idname = "headsmith.import_bundle"
    bl_label = UI["import_bundle"]
    bl_description = UI["import_bundle_tip"]
    directory: StringProperty(subtype="DIR_PATH")

    def invoke(self, context, event):
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        try:
            rig = build_head(read_avatar(Path(bpy.path.abspath(self.directory))))
        except BundleError as e:
            set_status(context.scene, str(e), True)
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        set_status(context.scene, MESSAGES["done"].format(name=rig.head.name))
        return {"FINISHED"}


class _OnHead:
    """Operators that act on the selected head: greyed out without one."""

    @classmethod
    def poll(cls, context):
        return active_head(context) is not None


class _ExportBase(_OnHead, ExportHelper):
    def execute(self, context):
        from ..scene import export

        head = active_head(context)
        if head is None:
            self.report({"ERROR"}, MESSAGES["no_head"])
            return {"CANCELLED"}
        path = getattr(export, self.export_fn)(rig_of(head), Path(self.filepath))
        set_status(context.scene, MESSAGES["exported"].format(path=path))
        return {"FINISHED"}


class HEADSMITH_OT_export_gltf(bpy.types.Operator, _ExportBase):
    bl_idname = "headsmith.export_gltf"
    bl_label = UI["export_gltf"]
    bl_description = UI["export_gltf_tip"]
    filename_ext = ".glb"
    filter_glob: StringProperty(default="*.glb", options={"HIDDEN"})
    export_fn = "export_glb"


class HEADSMITH_OT_export_fbx(bpy.types.Operator, _ExportBase):
    bl_idname = "headsmith.export_fbx"
    bl_label = UI["export_fbx"]
    bl_description = UI["export_fbx_tip"]
    filename_ext = ".fbx"
    filter_glob: StringProperty(default="*.fbx", options={"HIDDEN"})
    export_fn = "export_fbx"


class HEADSMITH_OT_import_live_link(_OnHead, bpy.types.Operator, ImportHelper):
    """Key a Live Link Face take (CSV) onto the selected head: the file is read and checked whole
    first, so a bad file changes nothing in the scene."""
    bl_idname = "headsmith.import_live_link"
    bl_label = UI["import_live_link"]
    bl_description = UI["import_live_link_tip"]
    bl_options = {"REGISTER", "UNDO"}
    filename_ext = ".csv"
    filter_glob: StringProperty(default="*.csv", options={"HIDDEN"})
    start_frame: IntProperty(name=UI["start_frame"], default=1, min=0)
    use_take_rate: BoolProperty(name=UI["use_take_rate"], description=UI["use_take_rate_tip"], default=True)

    def execute(self, context):
        head = active_head(context)
        if head is None:
            self.report({"ERROR"}, MESSAGES["no_head"])
            return {"CANCELLED"}
        ok, msg, notes = key_take_file(context.scene, head, Path(bpy.path.abspath(self.filepath)), self.start_frame,
                                       self.use_take_rate)
        for note in notes:
            self.report({"WARNING"}, note)
        if not ok:
            self.report({"ERROR"}, msg)
            return {"CANCELLED"}
        return {"FINISHED"}


def key_take_file(scene, head, path: Path, start_frame: int, use_take_rate: bool) -> tuple[bool, str, list[str]]:
    """Read a Live Link Face take whole (a bad file changes nothing) and key it onto `head`; the
    status line says what happened. -> (keyed, the message, the take's notes)."""
    from ..core.live_link import LiveLinkError, read_live_link
    from ..scene.animation import apply_take

    try:
        take = read_live_link(path)
    except LiveLinkError as e:
        msg = MESSAGES["take_refused"].format(message=e)
        set_status(scene, msg, True)
        return False, msg, []
    res = apply_take(rig_of(head), take, path.stem, start_frame, use_take_rate)
    msg = MESSAGES["take_keyed"].format(rows=res["rows"], rate=res["rate"], start=res["frames"][0],
                                        end=res["frames"][1])
    set_status(scene, msg)
    return True, msg, take.notes


class HEADSMITH_OT_track_video(_OnHead, bpy.types.Operator, ImportHelper):
    """Track a video of the selected head's person with the backend (its identity fixed) and key
    the take onto the head; the take is kept as a Live Link Face CSV in the extension's folder."""
    bl_idname = "headsmith.track_video"
    bl_label = UI["track_video"]
    bl_description = UI["track_video_tip"]
    filter_glob: StringProperty(default="*.mp4;*.mov;*.avi;*.mkv;*.m4v;*.webm", options={"HIDDEN"})
    start_frame: IntProperty(name=UI["start_frame"], default=1, min=0)
    use_take_rate: BoolProperty(name=UI["use_take_rate"], description=UI["use_take_rate_tip"], default=True)

    def execute(self, context):
        from ..scene.rig_builder import BUNDLE_PROP

        head = active_head(context)
        if context.scene.headsmith.busy:
            self.report({"WARNING"}, MESSAGES["busy"])
            return {"CANCELLED"}
        video, bundle = Path(bpy.path.abspath(self.filepath)), head.get(BUNDLE_PROP, "")
        head_name, start, use_rate = head.name, self.start_frame, self.use_take_rate
        takes = user_folder("takes")

        def task(client, report):
            jid = wait_for_job(client, client.track(video, bundle), report)["id"]
            return client.download_take(jid, takes / f"{video.stem}-{jid}.csv")

        def done(scene, path):
            target = bpy.data.objects.get(head_name)
            if target is None:
                set_status(scene, MESSAGES["take_no_head"].format(path=path), True)
                return
            ok, msg, _ = key_take_file(scene, target, path, start, use_rate)
            if ok:
                set_status(scene, MESSAGES["tracked"].format(keyed=msg, path=path))

        start_backend_task(context, task, done)
        return {"FINISHED"}


def _preset_items(self, context):
    from ..core.expression_presets import PRESETS

    return [(k, UI[f"preset_{k}"], "") for k in PRESETS] + [("reset", UI["preset_reset"], UI["preset_reset_tip"])]


class HEADSMITH_OT_expression_preset(_OnHead, bpy.types.Operator):
    bl_idname = "headsmith.expression_preset"
    bl_label = UI["preset"]
    bl_description = UI["preset_tip"]
    bl_options = {"REGISTER", "UNDO"}
    preset: EnumProperty(items=_preset_items)

    def execute(self, context):
        from ..core.expression_presets import PRESETS
        from ..scene.face_controls import reset_face, set_expression

        rig = rig_of(active_head(context))
        if self.preset == "reset":
            reset_face(rig)
        elif set_expression(rig, PRESETS[self.preset]) == 0:
            self.report({"WARNING"}, MESSAGES["preset_unknown"])
        context.view_layer.update()
        return {"FINISHED"}


class HEADSMITH_OT_key_face(_OnHead, bpy.types.Operator):
    bl_idname = "headsmith.key_face"
    bl_label = UI["key_face"]
    bl_description = UI["key_face_tip"]
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        from ..scene.face_controls import key_face

        n = key_face(rig_of(active_head(context)), context.scene.frame_current)
        set_status(context.scene, MESSAGES["keyed_face"].format(n=n, frame=context.scene.frame_current))
        return {"FINISHED"}


CLASSES = (HEADSMITH_OT_add_photo, HEADSMITH_OT_clear_photos, HEADSMITH_OT_reconstruct, HEADSMITH_OT_cancel,
           HEADSMITH_OT_import_bundle, HEADSMITH_OT_export_gltf, HEADSMITH_OT_export_fbx,
           HEADSMITH_OT_import_live_link, HEADSMITH_OT_track_video, HEADSMITH_OT_expression_preset,
           HEADSMITH_OT_key_face)
