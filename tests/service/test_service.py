"""The service on a real loopback port (uvicorn in a thread), driven over HTTP."""
import io
import json
import threading
import time
import zipfile

import httpx
import numpy as np
import pytest
from PIL import Image

from headsmith.service import ServiceSettings

from headsmith.service.local import serve_in_thread as loopback_server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    settings = ServiceSettings(max_pending=3, jobs_root=tmp_path_factory.mktemp("jobs"))
    with loopback_server(settings) as port:
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30,
                              headers={"Authorization": f"Bearer {settings.token}"})
        yield client, port


@pytest.fixture(scope="module")
def astronaut_png():
    import skimage.data

    buf = io.BytesIO()
    Image.fromarray(skimage.data.astronaut()).save(buf, format="PNG")
    return buf.getvalue()


def _wait(client, jid, timeout=300):
    t = time.time()
    while time.time() - t < timeout:
        st = client.get(f"/jobs/{jid}").json()
        if st["state"] in ("done", "failed", "cancelled"):
            return st
        time.sleep(0.2)
    raise AssertionError(f"job {jid} did not finish")


def test_token_required(server):
    client, port = server
    r = httpx.get(f"http://127.0.0.1:{port}/health")
    assert r.status_code == 401 and "token" in r.json()["error"]
    r = httpx.get(f"http://127.0.0.1:{port}/health", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401
    assert client.get("/health").json()["status"] == "ok"


def test_bad_uploads_get_4xx(server):
    client, _ = server
    r = client.post("/reconstruct", files={"photos": ("x.jpg", b"not an image", "image/jpeg")})
    assert r.status_code == 422 and "not an image" in r.json()["error"]
    big = b"\0" * (32 * 1024 * 1024 + 10)
    r = client.post("/reconstruct", files={"photos": ("big.png", big, "image/png")})
    assert r.status_code == 413 and "limit" in r.json()["error"]
    r = client.post("/reconstruct", files={"photos": ("a.png", b"x", "image/png")}, data={"quality": "ultra"})
    assert r.status_code == 422
    # FLAME: the user's files are named by path and must exist
    r = client.post("/reconstruct", files={"photos": ("a.png", b"x", "image/png")}, data={"model": "flame"})
    assert r.status_code == 422 and "flame_path" in r.json()["error"]
    r = client.post("/reconstruct", files={"photos": ("a.png", b"x", "image/png")}, data={"model": "smplx"})
    assert r.status_code == 422
    assert client.get("/jobs/nope").status_code == 404


def test_reconstruction_job_round_trip(server, astronaut_png):
    client, _ = server
    r = client.post("/reconstruct", files={"photos": ("astronaut.png", astronaut_png, "image/png")},
                    data={"quality": "fast"})
    assert r.status_code == 202
    st = _wait(client, r.json()["id"])
    assert st["state"] == "done", st
    z = zipfile.ZipFile(io.BytesIO(client.get(f"/jobs/{st['id']}/bundle").content))
    assert {"bundle.json", "mesh.obj", "albedo.png", "report.png"} <= set(z.namelist())


def test_no_face_fails_the_job_not_the_server(server):
    client, _ = server
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (300, 300, 3), dtype=np.uint8)).save(buf, format="PNG")
    r = client.post("/reconstruct", files={"photos": ("noise.png", buf.getvalue(), "image/png")}, data={"quality": "fast"})
    st = _wait(client, r.json()["id"])
    assert st["state"] == "failed" and "no face" in st["error"]
    assert client.get(f"/jobs/{st['id']}/bundle").status_code == 409
    assert client.get("/health").status_code == 200


def test_eight_concurrent_requests_complete_or_are_told_to_retry(server, astronaut_png):
    client, port = server
    results = []

    def post():
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60, headers=client.headers) as c:
            results.append(c.post("/reconstruct", files={"photos": ("a.png", astronaut_png, "image/png")},
                                  data={"quality": "fast"}))

    threads = [threading.Thread(target=post) for _ in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    codes = sorted(r.status_code for r in results)
    assert set(codes) <= {202, 503} and codes.count(202) >= 1
    for r in results:
        if r.status_code == 503:
            assert r.headers.get("retry-after") and "retry" in r.json()["error"]
    for r in results:
        if r.status_code == 202:
            assert _wait(client, r.json()["id"], timeout=300)["state"] == "done"
    assert client.get("/health").status_code == 200


def test_cancel_a_queued_job(server, astronaut_png):
    client, _ = server
    first = client.post("/reconstruct", files={"photos": ("a.png", astronaut_png, "image/png")}, data={"quality": "fast"})
    second = client.post("/reconstruct", files={"photos": ("a.png", astronaut_png, "image/png")}, data={"quality": "fast"})
    assert first.status_code == second.status_code == 202
    r = client.delete(f"/jobs/{second.json()['id']}")
    assert r.status_code == 200
    assert _wait(client, second.json()["id"])["state"] == "cancelled"
    assert _wait(client, first.json()["id"])["state"] == "done"


def test_track_job_round_trip(server, performance, tmp_path):
    """A video and an avatar on this machine -> a track job with progress -> its take (CSV)."""
    from headsmith_blender.core.live_link import read_live_link

    client, _ = server
    video, bundle, truth = performance
    r = client.post("/track", json={"video": str(video), "bundle": str(bundle)})
    assert r.status_code == 202 and r.json()["kind"] == "track", r.text
    jid, stages = r.json()["id"], set()
    while (st := client.get(f"/jobs/{jid}").json())["state"] in ("queued", "running"):
        stages.add(st["stage"])
        time.sleep(0.05)
    assert st["state"] == "done", st
    assert "landmarks" in stages or "fit" in stages
    r = client.get(f"/jobs/{jid}/take")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    (tmp_path / "take.csv").write_bytes(r.content)
    take = read_live_link(tmp_path / "take.csv")
    seg = truth["segment"]
    assert take.rows == len(seg) and take.curves["jawOpen"][seg == "jaw"].max() > 0.4
    r = client.get(f"/jobs/{jid}/bundle")
    assert r.status_code == 409 and "track job" in r.json()["error"]


def test_bad_track_requests_get_422(server, performance, tmp_path):
    client, _ = server
    video, bundle, _ = performance
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video" * 100)
    cases = [({"video": str(tmp_path / "missing.mp4"), "bundle": str(bundle)}, "no such video file"),
             ({"video": str(junk), "bundle": str(bundle)}, "not a video OpenCV can read"),
             ({"video": str(video), "bundle": str(tmp_path)}, "neither an avatar folder"),
             ({"video": str(video), "bundle": str(bundle), "quality": "ultra"}, "quality"),
             ({"video": str(video)}, "bundle")]
    for body, message in cases:
        r = client.post("/track", json=body)
        assert r.status_code == 422 and message in r.json()["error"], (body, r.text)


def test_token_file_is_private(tmp_path):
    import stat

    from headsmith.service.app import write_token_file

    p = tmp_path / "hs" / "service.json"
    write_token_file(p, "http://127.0.0.1:8765", "secret")
    assert json.loads(p.read_text()) == {"url": "http://127.0.0.1:8765", "token": "secret"}
    assert stat.S_IMODE(p.stat().st_mode) == 0o600


def test_damaged_bundles_are_a_422_naming_the_field(server, avatar_bundle, tmp_path):
    """bundle.json is checked against the bundle schema: no server error, and no file outside
    the bundle is read because a bundle names it."""
    import shutil

    client, _ = server
    b = tmp_path / "b"
    shutil.copytree(avatar_bundle, b)
    good = json.loads((b / "bundle.json").read_text())
    for meta, field in (([good], "whole file"), ({**good, "detail": "abc"}, "detail"),
                        ({**good, "detail": {**good["detail"], "residual": "../../../../etc/passwd"}},
                         "detail.residual")):
        (b / "bundle.json").write_text(json.dumps(meta))
        r = client.post("/avatars", json={"bundle": str(b)})
        assert r.status_code == 422 and field in r.json()["error"], r.text


def test_live_wrinkle_decoding_and_baking(server, avatar_bundle, tmp_path):
    client, _ = server
    assert client.post("/avatars", json={"bundle": str(tmp_path)}).status_code == 422       # not a bundle
    assert client.post("/avatars", json={}).status_code == 422
    r = client.post("/avatars", json={"bundle": str(avatar_bundle)})
    assert r.status_code == 201, r.text
    aid = r.json()["id"]
    assert "browInnerUp" in r.json()["expression_names"]

    def decode(**kw):
        r = client.post(f"/avatars/{aid}/decode", json=kw)
        assert r.status_code == 200, r.text
        shape = tuple(int(x) for x in r.headers["x-shape"].split(","))
        return np.frombuffer(r.content, dtype=r.headers["x-dtype"]).reshape(shape)

    brows = {"browInnerUp": 1.0, "browOuterUpLeft": 1.0, "browOuterUpRight": 1.0}
    n0, n1 = decode(size=256), decode(size=256, expression=brows)
    assert n0.shape == (256, 256, 3) and n0.dtype == np.uint8
    assert (np.abs(n1.astype(int) - n0).max(-1) > 3).mean() > 0.002          # furrows appear
    rgba = decode(size=256, expression=brows, output="normal_rgba")           # what the add-on asks for
    assert rgba.shape == (256, 256, 4) and np.array_equal(rgba[..., :3], n1) and (rgba[..., 3] == 255).all()
    # the displacement output is the decoder plus the bundle's residual, exactly
    from headsmith.bundle.io import decode_displacement
    from headsmith.wrinkles.decoder import OnnxWrinkleDecoder
    from headsmith.wrinkles.texture_decoder import OPENHEAD_DECODER_ONNX
    from headsmith.headmodel import OpenHead
    import cv2

    meta = json.loads((avatar_bundle / "bundle.json").read_text())
    m = OpenHead()
    e = np.zeros((1, m.n_expression), np.float32)
    for k, w in brows.items():
        e[0, m.expression_names.index(k)] = w
    res = decode_displacement(cv2.imread(str(avatar_bundle / "detail_residual.png"), cv2.IMREAD_UNCHANGED), 0.01)
    want = OnnxWrinkleDecoder(OPENHEAD_DECODER_ONNX, m.n_expression).decode(
        np.array([meta["detail"]["code"]], np.float32), e, np.zeros((1, 3), np.float32))[0] + res
    got = decode(expression=brows, output="displacement")
    assert got.dtype == np.float32 and np.abs(got - want).max() < 1e-7
    # bad parameters
    for bad in ({"size": 300}, {"expression": {"browUpp": 1.0}}, {"jaw": [0, 0]}, {"output": "png"},
                {"expression": {"browInnerUp": 50.0}}):
        r = client.post(f"/avatars/{aid}/decode", json=bad)
        assert r.status_code == 422 and r.json()["error"], bad
    assert client.post("/avatars/nope/decode", json={}).status_code == 404
    # baking re-writes the bundle's wrinkle maps and returns the sidecar
    side = client.post(f"/avatars/{aid}/bake").json()
    assert side["keys"][0] == "brows_up" and "mean_um" in side["blend_error_100_random_expressions"]


def test_flame_job_with_deca_bakes_wrinkles(server, astronaut_png, flame_standin, tmp_path):
    """FLAME files are sent as paths on this machine; the job reconstructs and bakes with DECA."""
    client, _ = server
    files = {"photos": ("astronaut.png", astronaut_png, "image/png")}
    bad = dict(flame_standin, deca_path=str(tmp_path / "no_deca.tar"))
    r = client.post("/reconstruct", files=files, data={"quality": "fast", "model": "flame", **bad})
    assert r.status_code == 422 and "deca_path" in r.json()["error"]
    r = client.post("/reconstruct", files=files, data={"quality": "fast", "deca_path": flame_standin["deca_path"]})
    assert r.status_code == 422 and "FLAME" in r.json()["error"]
    bad = dict(flame_standin, flame_albedo=str(tmp_path / "no_albedo.npz"))
    r = client.post("/reconstruct", files=files, data={"quality": "fast", "model": "flame", **bad})
    assert r.status_code == 422 and "flame_albedo" in r.json()["error"]
    r = client.post("/reconstruct", files=files, data={"quality": "fast", "flame_albedo": flame_standin["flame_uv"]})
    assert r.status_code == 422 and "model flame" in r.json()["error"]
    r = client.post("/reconstruct", files=files, data={"quality": "fast", "model": "flame", **flame_standin})
    assert r.status_code == 202, r.text
    st = _wait(client, r.json()["id"])
    assert st["state"] == "done", st
    z = zipfile.ZipFile(io.BytesIO(client.get(f"/jobs/{st['id']}/bundle").content))
    assert {"bundle.json", "rig.npz", "wrinkles/wrinkles.json", "wrinkles/wrinkle_exp000+_normal.png"} <= set(z.namelist())


def test_flame_live_decoding_uses_deca(server, flame_bundle, tmp_path):
    import shutil

    from headsmith.wrinkles.sources import wrinkle_parts

    client, _ = server
    r = client.post("/avatars", json={"bundle": str(flame_bundle)})
    assert r.status_code == 201, r.text
    aid = r.json()["id"]
    assert r.json()["expression_names"][:2] == ["exp000", "exp001"]
    meta = json.loads((flame_bundle / "bundle.json").read_text())
    _, decoder = wrinkle_parts(meta)
    e = np.zeros((1, 50), np.float32)
    e[0, 0], e[0, 3] = -3.0, 1.5                          # signed components, in standard deviations
    jaw = np.array([[0.2, 0.0, 0.0]], np.float32)
    want = decoder.decode(np.array([meta["detail"]["code"]], np.float32), e, jaw)[0]
    r = client.post(f"/avatars/{aid}/decode", json={"expression": {"exp000": -3.0, "exp003": 1.5},
                                                     "jaw": [0.2, 0, 0], "output": "displacement"})
    assert r.status_code == 200, r.text
    got = np.frombuffer(r.content, np.float32).reshape(want.shape)
    assert np.abs(got - want).max() < 1e-6 and np.abs(want).max() > 1e-4
    r = client.post(f"/avatars/{aid}/decode", json={"expression": {"browInnerUp": 1.0}})
    assert r.status_code == 422 and "browInnerUp" in r.json()["error"]
    # a bundle whose DECA checkpoint has moved away: a 422 that names the file
    moved = tmp_path / "moved"
    shutil.copytree(flame_bundle, moved)
    meta["detail"]["decoder_path"] = str(tmp_path / "gone" / "deca_model.tar")
    (moved / "bundle.json").write_text(json.dumps(meta))
    r = client.post("/avatars", json={"bundle": str(moved)})
    assert r.status_code == 422 and "gone" in r.json()["error"], r.text


def test_a_bundle_whose_files_are_wrong_is_a_422(server, avatar_bundle, tmp_path):
    """Issue 18, finding 8: a missing residual PNG, `wrinkles` as a file, a FLAME bundle whose
    recorded model file is a hostile pickle: each a 4xx with a message, never a 500."""
    import os
    import pickle
    import shutil

    client, _ = server
    b = tmp_path / "b"
    shutil.copytree(avatar_bundle, b)
    aid = client.post("/avatars", json={"bundle": str(b)}).json()["id"]
    (b / "detail_residual.png").unlink()
    r = client.post(f"/avatars/{aid}/decode", json={"size": 256})
    assert r.status_code == 422 and "detail_residual.png" in r.json()["error"], r.text
    shutil.rmtree(b / "wrinkles")
    (b / "wrinkles").write_text("a file where the wrinkle maps go")
    shutil.copy(avatar_bundle / "detail_residual.png", b / "detail_residual.png")
    r = client.post(f"/avatars/{aid}/bake")
    assert r.status_code in (200, 409, 422), r.text
    assert not [p.name for p in b.iterdir() if p.name.startswith(".")]          # no temporaries left

    class RunsCode:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'code-ran'}",))

    evil = tmp_path / "generic_model.pkl"
    evil.write_bytes(pickle.dumps(RunsCode()))
    meta = json.loads((b / "bundle.json").read_text())
    meta["model"] = {**meta["model"], "name": "flame", "files": {"flame_path": str(evil)}}
    (b / "bundle.json").write_text(json.dumps(meta))
    r = client.post("/avatars", json={"bundle": str(b)})
    assert r.status_code == 422 and "generic_model.pkl" in r.json()["error"], r.text
    assert not (tmp_path / "code-ran").exists()
