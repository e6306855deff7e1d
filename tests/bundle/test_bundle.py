
import cv2
import numpy as np
import pytest

from headsmith.bundle import AvatarBundle, read_bundle, write_bundle
from headsmith.bundle.obj import read_obj_vertices
from headsmith.bundle.io import decode_displacement


def _bundle(report=None):
    rng = np.random.default_rng(0)
    mesh = dict(vertices=rng.normal(size=(4, 3)), faces=np.array([[0, 1, 2], [0, 2, 3]]),
                uv=rng.random((4, 2)), uv_faces=np.array([[0, 1, 2], [0, 2, 3]]),
                face_part=np.array([0, 1]), part_names=["skin", "eye.L"])
    disp = (rng.random((32, 32)) - 0.5) * 0.004
    return AvatarBundle({"model": {"name": "test"}}, mesh, rng.integers(0, 255, (16, 16, 3), dtype=np.uint8),
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
