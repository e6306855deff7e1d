"""The extension as an artist gets it: the zip built by blender_addon/package_extension.py installs
and enables in the bpy wheel, registers its panel, operators and preferences, and drives a real
backend on a free loopback port without ever blocking: reconstruct round trip, live wrinkles,
and clear messages within 2 s for a backend that is down, a wrong token and a bad photo."""
import importlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from headsmith.service.local import free_port
from tests.blender_addon.conftest import action_fcurves
from headsmith.service.local import serve_in_thread as loopback_server

ADDON = "bl_ext.user_default.headsmith_blender"


@pytest.fixture(scope="module")
def ext(tmp_path_factory):
    import bpy

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "blender_addon"))
    from package_extension import build_zip

    zp = build_zip(tmp_path_factory.mktemp("dist"))
    bpy.ops.wm.read_factory_settings(use_empty=True)
    assert bpy.ops.extensions.package_install_files(filepath=str(zp), repo="user_default",
                                                    enable_on_install=True) == {"FINISHED"}
    assert ADDON in bpy.context.preferences.addons
    yield importlib.import_module(ADDON)
    bpy.ops.preferences.addon_disable(module=ADDON)


def _pump(mod, until, timeout):
    """Stand in for Blender's event loop: run the extension's timer until `until()` or timeout."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        mod.ops.live.tick()
        if until():
            return time.monotonic() - t0
        time.sleep(0.02)
    raise AssertionError(f"not reached within {timeout} s")


def _prefs(bpy):
    return bpy.context.preferences.addons[ADDON].preferences


def test_registers_panel_operators_and_preferences(ext):
    import bpy

    assert hasattr(bpy.types, "HEADSMITH_PT_main") and hasattr(bpy.types, "HEADSMITH_PT_head")
    for op in ("reconstruct", "cancel", "add_photo", "clear_photos", "import_bundle", "export_gltf", "export_fbx",
               "import_live_link", "track_video"):
        assert hasattr(bpy.ops.headsmith, op)
    p = _prefs(bpy)
    assert p.backend_url.startswith("http://127.0.0.1") and p.head_model == "openhead"
    assert bpy.context.scene.headsmith.status == "Ready"
    assert bpy.app.timers.is_registered(ext.ops.live.tick)


def _token_file(tmp_path, url, token):
    f = tmp_path / "service.json"
    f.write_text(json.dumps({"url": url, "token": token}))
    return f


def _reconstruct_and_wait_for_message(ext, photo, timeout=2.0):
    import bpy

    st = bpy.context.scene.headsmith
    st.photos.clear()
    st.photos.add().path = str(photo)
    t0 = time.monotonic()
    assert bpy.ops.headsmith.reconstruct() == {"FINISHED"}
    assert time.monotonic() - t0 < 1.0          # the operator returns at once: the UI is not blocked
    _pump(ext, lambda: not st.busy, timeout)
    return st


def test_backend_down_gives_a_clear_message_fast(ext, tmp_path, astronaut_path):
    import bpy

    p = _prefs(bpy)
    p.launch_command = ""
    p.token_file = str(_token_file(tmp_path, f"http://127.0.0.1:{free_port()}", "x"))
    st = _reconstruct_and_wait_for_message(ext, astronaut_path)
    assert st.is_error and "does not answer" in st.status and "headsmith serve" in st.status


def test_missing_token_file_and_wrong_token(ext, tmp_path, astronaut_path):
    import bpy

    from headsmith.service import ServiceSettings

    p = _prefs(bpy)
    p.launch_command = ""
    p.token_file = str(tmp_path / "nothing.json")
    st = _reconstruct_and_wait_for_message(ext, astronaut_path)
    assert st.is_error and "No token file" in st.status
    with loopback_server(ServiceSettings(jobs_root=tmp_path / "jobs")) as port:
        p.token_file = str(_token_file(tmp_path, f"http://127.0.0.1:{port}", "wrong"))
        st = _reconstruct_and_wait_for_message(ext, astronaut_path)
        assert st.is_error and "refused the token" in st.status


def test_round_trip_photo_to_rig_and_live_wrinkles(ext, tmp_path, astronaut_path):
    import bpy

    from headsmith.service import ServiceSettings

    s = ServiceSettings(jobs_root=tmp_path / "jobs")
    with loopback_server(s) as port:
        p = _prefs(bpy)
        p.launch_command = ""
        p.token_file = str(_token_file(tmp_path, f"http://127.0.0.1:{port}", s.token))
        p.live_size = "512"
        # a bad photo: the backend's 4xx message reaches the panel
        bad = tmp_path / "bad.jpg"
        bad.write_bytes(b"this is not a jpeg")
        st = _reconstruct_and_wait_for_message(ext, bad)
        assert st.is_error and "422" in st.status and "not an image" in st.status
        # the real round trip
        st.quality = "fast"
        st = _reconstruct_and_wait_for_message(ext, astronaut_path, timeout=600)
        assert not st.is_error, st.status
        heads = ext.scene.rig_builder.find_heads()
        assert len(heads) == 1
        head = heads[0]
        assert len(head.data.shape_keys.key_blocks) == 53 and head.get(ext.ops.operators.AVATAR_ID_PROP)
        # live wrinkles: switch on, raise the brows, the live image is re-decoded in place
        img = ext.ops.live.live_image_of(head)
        before = np.array(img.pixels[:], np.float32).reshape(img.size[1], img.size[0], 4)
        head[ext.scene.materials.LIVE_PROP] = 1
        n0 = st.live_updates
        _pump(ext, lambda: st.live_updates > n0, 30)
        neutral = np.array(img.pixels[:], np.float32).reshape(img.size[1], img.size[0], 4)
        for k in ("browInnerUp", "browOuterUpLeft", "browOuterUpRight"):
            head.data.shape_keys.key_blocks[k].value = 1.0
        n1 = st.live_updates
        _pump(ext, lambda: st.live_updates > n1, 30)
        up = np.array(img.pixels[:], np.float32).reshape(img.size[1], img.size[0], 4)
        assert tuple(img.size) == (512, 512)
        assert np.allclose(before[..., :3], [0.5, 0.5, 1.0], atol=0.01)    # the flat placeholder ...
        assert np.abs(neutral[..., :3] - [0.5, 0.5, 1.0]).max() > 0.05    # ... was replaced by the decoded map
        changed = np.abs(up - neutral)[..., :3].max(-1) > 2 / 255
        assert changed.mean() > 0.002                       # the brows-up furrows appear
        assert not st.is_error, st.status


def test_track_video_keys_the_head(ext, tmp_path, avatar_bundle, performance):
    """Track Video: the backend tracks a video on this machine and the take is keyed onto the
    selected head, without blocking; a bad video is the backend's 422 and keys nothing."""
    import bpy

    from headsmith.service import ServiceSettings

    video, _, truth = performance
    for o in list(bpy.data.objects):     # not a factory reset: that would disable the extension
        bpy.data.objects.remove(o)
    rig = ext.scene.rig_builder.build_head(ext.core.bundle.read_avatar(avatar_bundle), pack=False)
    bpy.context.view_layer.objects.active = rig.head
    rig.head.select_set(True)
    st = bpy.context.scene.headsmith
    s = ServiceSettings(jobs_root=tmp_path / "jobs")
    with loopback_server(s) as port:
        p = _prefs(bpy)
        p.launch_command = ""
        p.token_file = str(_token_file(tmp_path, f"http://127.0.0.1:{port}", s.token))
        assert bpy.ops.headsmith.track_video(filepath=str(tmp_path / "missing.mp4")) == {"FINISHED"}
        _pump(ext, lambda: not st.busy, 30)
        assert st.is_error and "422" in st.status and "no such video file" in st.status
        assert rig.head.data.shape_keys.animation_data is None
        t0 = time.monotonic()
        assert bpy.ops.headsmith.track_video(filepath=str(video), start_frame=1) == {"FINISHED"}
        assert time.monotonic() - t0 < 1.0 and st.busy          # the UI is not blocked
        _pump(ext, lambda: not st.busy, 300)
    assert not st.is_error and st.status.startswith("Tracked the video. Keyed 60 rows"), st.status
    take = Path(st.status.rsplit(" at ", 1)[1])
    assert take.is_file() and take.suffix == ".csv"
    curves = {c.data_path: c for c in action_fcurves(rig.head.data.shape_keys)}
    jaw_at = lambda f: (bpy.context.scene.frame_set(f), rig.head.data.shape_keys.key_blocks["jawOpen"].value)[1]  # noqa: E731
    seg = truth["segment"]
    jaw = [jaw_at(int(i) + 1) for i in np.flatnonzero(seg == "jaw")]
    still = [jaw_at(int(i) + 1) for i in np.flatnonzero(seg == "still")]
    assert max(jaw) > max(still) + 0.2, (jaw, still)
    assert len(curves['key_blocks["jawOpen"].value'].keyframe_points) == len(seg)


def test_launches_the_backend_when_none_answers(ext, tmp_path):
    port = free_port()
    token_file = tmp_path / "launched.json"
    cmd = f"{sys.executable} -m headsmith.cli serve --port {port}"
    try:
        client = ext.core.backend_process.ensure_backend(cmd, str(token_file), f"http://127.0.0.1:{port}", wait_s=120)
        assert client.health()["status"] == "ok" and client.url.endswith(str(port))
        assert len(ext.core.backend_process.LAUNCHED) == 1
    finally:
        ext.core.backend_process.stop_launched()
    assert not ext.core.backend_process.LAUNCHED


def test_zip_passes_blenders_strict_validation(tmp_path):
    """extensions.blender.org's rules, by the validator the bpy wheel ships (`blender --command
    extension validate`): e.g. each permission's reason at most 64 characters."""
    import subprocess

    import bpy

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "blender_addon"))
    from package_extension import build_zip

    zp = build_zip(tmp_path)
    cli = Path(bpy.utils.system_resource("SCRIPTS")) / "addons_core" / "bl_pkg" / "cli" / "blender_ext.py"
    p = subprocess.run([sys.executable, str(cli), "validate", str(zp)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and "Success" in p.stdout, p.stdout + p.stderr
