
import cv2
import numpy as np
import pytest

from headsmith.bundle import AvatarBundle, BundleError, read_bundle, write_bundle
from headsmith.bundle.obj import read_obj_vertices
from headsmith.bundle.io import decode_displacement


def _meta() -> dict:
    """A minimal bundle.json body that meets bundle.schema.json (the writer adds files, textures'
    displacement and schema_version)."""
    photo = {"image_size": [64, 64], "crop_matrix": [[1.0, 0, 0], [0, 1.0, 0]], "expression": [0.0] * 2,
             "pose": {k: [0.0] * 3 for k in ("global_rot", "neck", "jaw", "eye_left", "eye_right")},
             "camera": [1.0, 0, 0], "light": [[0.5] * 3] * 9, "landmarks_detected": [[1.0, 2.0]] * 68,
             "landmarks_fitted": [[1.0, 2.0]] * 68, "landmark_error_iod": 0.02}
    return {"model": {"name": "openhead", "n_shape": 2, "n_expression": 2, "expression_names": ["a", "b"],
                      "joint_names": ["root"], "files": {}},
            "parameters": {"shape": [0.0, 0.0], "photos": [photo], "albedo_mean_linear": [0.4, 0.3, 0.2]},
            "textures": {"albedo": {"file": "albedo.png"}, "normal": {"file": "normal.png"}},
            "provenance": {"headsmith": "test"}, "frame": "metres"}


def _bundle(report=None):
    rng = np.random.default_rng(0)
    mesh = dict(vertices=rng.normal(size=(4, 3)), faces=np.array([[0, 1, 2], [0, 2, 3]]),
                uv=rng.random((4, 2)), uv_faces=np.array([[0, 1, 2], [0, 2, 3]]),
                face_part=np.array([0, 1]), part_names=["skin", "eye.L"])
    disp = (rng.random((32, 32)) - 0.5) * 0.004
    return AvatarBundle(_meta(), mesh, rng.integers(0, 255, (16, 16, 3), dtype=np.uint8),
                        disp, np.zeros((16, 16, 3)), report)


def test_round_trip(tmp_path):
    b = _bundle(np.zeros((8, 8, 3), np.uint8))
    out = write_bundle(tmp_path / "avatar", b)
    meta = read_bundle(out)
    assert meta["schema_version"] == 1 and meta["files"]["report"] == "report.png"
    v = read_obj_vertices(out / "mesh.obj")
    assert np.allclose(v, b.mesh["vertices"], atol=1e-6)
    png = cv2.imread(str(out / "displacement.png"), cv2.IMREAD_UNCHANGED)
    assert png.dtype == np.uint16
    d = decode_displacement(png, meta["textures"]["displacement"]["scale_m"])
    assert np.abs(d - b.displacement).max() < 0.02 / 65535 * 1.01
    assert "usemtl eye.L" in (out / "mesh.obj").read_text()
    assert "map_Kd albedo.png" in (out / "mesh.mtl").read_text()


def test_failed_write_keeps_the_previous_bundle(tmp_path):
    out = write_bundle(tmp_path / "avatar", _bundle())
    before = (out / "bundle.json").read_text()
    bad = _bundle(report=np.zeros((0, 0, 3), np.uint8))   # cannot be encoded
    with pytest.raises(Exception):
        write_bundle(tmp_path / "avatar", bad)
    assert (out / "bundle.json").read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["avatar"]   # no temporary leftovers


def test_a_meta_that_breaks_the_schema_is_not_written(tmp_path):
    """A writer bug (here a camera of two numbers) stops before anything is swapped in."""
    out = write_bundle(tmp_path / "avatar", _bundle())
    before = (out / "bundle.json").read_text()
    bad = _bundle()
    bad.meta["parameters"]["photos"][0]["camera"] = [1.0, 0.0]
    with pytest.raises(BundleError, match=r"photos\[0\]\.camera"):
        write_bundle(tmp_path / "avatar", bad)
    assert (out / "bundle.json").read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["avatar"]


def test_the_rig_file_is_an_npz_of_the_rig_arrays(tmp_path, openhead):
    import torch

    from headsmith.bundle.rig import rig_arrays, write_rig

    arrays = rig_arrays(openhead, torch.zeros(1, openhead.n_shape))
    write_rig(tmp_path / "rig.npz", arrays)
    with np.load(tmp_path / "rig.npz") as z:
        assert set(z.files) == set(arrays)
        for k, v in arrays.items():
            assert z[k].dtype == v.dtype and np.array_equal(z[k], v), k
