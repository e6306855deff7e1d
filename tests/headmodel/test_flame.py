"""FLAME loader on a synthetic FLAME-format pickle (real key names, shapes and object types:
chumpy Ch arrays, a scipy sparse J_regressor, uint32 kintree), checked against an independent
float64 LBS reference written here with scipy's rotations."""
from __future__ import annotations

import os
import pickle
import sys
import types

import numpy as np
import pytest
import scipy.sparse
import torch
from scipy.spatial.transform import Rotation

from headsmith.headmodel import HeadPose, ModelFileError
from headsmith.headmodel.flame import FLAME, read_deca_landmarks
from headsmith.headmodel.safe_pickle import UnsafePickleError, load_restricted_pickle

V, F = 5023, 9976


def _fake_chumpy():
    """A class pickled under chumpy's module path, as FLAME's file carries (chumpy itself is
    never installed or imported)."""
    mod = types.ModuleType("chumpy.ch")

    class Ch:
        def __init__(self, x):
            self.x = x

        def __getstate__(self):
            return {"x": self.x, "_dirty_vars": set(), "_itr": None}

    Ch.__module__ = "chumpy.ch"
    Ch.__qualname__ = "Ch"
    mod.Ch = Ch
    return mod


def make_flame_arrays(seed=0):
    rng = np.random.default_rng(seed)
    u = rng.normal(size=(V, 3))
    v_template = 0.1 * u / np.linalg.norm(u, axis=1, keepdims=True) * np.array([0.8, 1.0, 0.9])
    faces = np.stack([rng.permutation(V)[:3] for _ in range(F)]).astype(np.uint32)
    shapedirs = 1e-3 * rng.normal(size=(V, 3, 400))
    posedirs = 1e-3 * rng.normal(size=(V, 3, 36))
    centres = np.array([[0, -0.08, -0.02], [0, -0.05, -0.01], [0, -0.03, 0.02], [0.03, 0.03, 0.05],
                        [-0.03, 0.03, 0.05]])
    rows, cols, vals = [], [], []
    for j, c in enumerate(centres):
        near = np.argsort(np.linalg.norm(v_template - c, axis=1))[:20]
        rows += [j] * 20; cols += near.tolist(); vals += [1 / 20] * 20
    J_regressor = scipy.sparse.csc_matrix((vals, (rows, cols)), shape=(5, V))
    w = rng.random((V, 5)) ** 2 + 0.01
    w[np.arange(V)[:40], :] = 0
    w[np.arange(20), 3] = 1       # an eyeball bound to one eye joint
    w[np.arange(20, 40), 4] = 1
    weights = w / w.sum(1, keepdims=True)
    kintree = np.array([[4294967295, 0, 1, 1, 1], [0, 1, 2, 3, 4]], dtype=np.uint32)
    return dict(v_template=v_template, f=faces, shapedirs=shapedirs, posedirs=posedirs,
                J_regressor=J_regressor, weights=weights, kintree_table=kintree)


def write_flame_pickle(path, arrays, extra=None):
    ch = _fake_chumpy()
    sys.modules["chumpy"] = types.ModuleType("chumpy")
    sys.modules["chumpy.ch"] = ch
    try:
        d = dict(arrays)
        d["v_template"] = ch.Ch(arrays["v_template"])
        d["shapedirs"] = ch.Ch(arrays["shapedirs"])
        d["J"] = ch.Ch(np.zeros((5, 3)))
        d["bs_style"] = "lbs"
        d["bs_type"] = "lrotmin"
        if extra:
            d.update(extra)
        with open(path, "wb") as f:
            pickle.dump(d, f, protocol=2)
    finally:
        del sys.modules["chumpy.ch"], sys.modules["chumpy"]


def reference_lbs(a, shape, expr, full_pose):
    """float64 FLAME in numpy: v = sum_j w_j G_j (T + S b + P(R) - J_j-rest...)"""
    sd = a["shapedirs"]
    v_shaped = a["v_template"] + sd[..., :100] @ shape + sd[..., 300:350] @ expr
    J = a["J_regressor"].toarray() @ v_shaped
    R = Rotation.from_rotvec(full_pose.reshape(5, 3)).as_matrix()
    feat = (R[1:] - np.eye(3)).ravel()
    v_posed = v_shaped + a["posedirs"] @ feat
    parents = [-1, 0, 1, 1, 1]
    G = []
    for j in range(5):
        local = np.eye(4)
        local[:3, :3] = R[j]
        local[:3, 3] = J[j] - (J[parents[j]] if parents[j] >= 0 else 0)
        G.append(local if parents[j] < 0 else G[parents[j]] @ local)
    out = np.zeros_like(v_posed)
    for j in range(5):
        A = G[j].copy()
        A[:3, 3] -= G[j][:3, :3] @ J[j]
        out += a["weights"][:, j:j + 1] * (v_posed @ A[:3, :3].T + A[:3, 3])
    return out


@pytest.fixture(scope="module")
def flame_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("flame")
    arrays = make_flame_arrays()
    write_flame_pickle(d / "generic_model.pkl", arrays)
    return d, arrays


def test_lbs_matches_float64_reference(flame_files):
    d, a = flame_files
    rng = np.random.default_rng(3)
    shape, expr = rng.normal(size=100), rng.normal(size=50)
    full_pose = 0.3 * rng.normal(size=15)
    ref = reference_lbs(a, shape, expr, full_pose)
    pose_t = torch.tensor(full_pose.reshape(5, 3))[None]
    # joint 3 is at +x in this file, so it is the subject's left eye
    pose = HeadPose(pose_t[:, 0], pose_t[:, 1], pose_t[:, 2], pose_t[:, 3], pose_t[:, 4])
    for dtype, tol in ((torch.float64, 1e-6), (torch.float32, 2e-5)):
        m = FLAME(d / "generic_model.pkl", dtype=dtype)
        p = HeadPose(*(t.to(dtype) for t in (pose.global_rot, pose.neck, pose.jaw, pose.eye_left, pose.eye_right)))
        out = m(shape=torch.tensor(shape, dtype=dtype)[None], expression=torch.tensor(expr, dtype=dtype)[None], pose=p)
        err = np.abs(out.vertices[0].double().numpy() - ref).max()
        assert err < tol, (dtype, err)
    assert m.part_names == ["skin", "eye.L", "eye.R"] and int((m.vertex_part == 1).sum()) == 20


def test_pickle_with_other_objects_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo should-never-run",))

    p = tmp_path / "generic_model.pkl"
    arrays = make_flame_arrays()
    write_flame_pickle(p, arrays, extra={"payload": Evil()})
    with pytest.raises(UnsafePickleError, match="system"):
        FLAME(p)
    q = tmp_path / "odd.pkl"
    with open(q, "wb") as f:
        pickle.dump({"v_template": Rotation.identity()}, f)
    with pytest.raises(UnsafePickleError, match="only array data"):
        load_restricted_pickle(q, "FLAME model")


def test_missing_key_and_missing_file_give_clear_errors(tmp_path):
    arrays = make_flame_arrays()
    del arrays["weights"]
    p = tmp_path / "generic_model.pkl"
    write_flame_pickle(p, arrays)
    with pytest.raises(ModelFileError, match="weights"):
        FLAME(p)
    with pytest.raises(ModelFileError, match="FLAME site"):
        FLAME(tmp_path / "absent.pkl")


def test_deca_landmark_embedding_with_torch_tensors(tmp_path, flame_files):
    d, a = flame_files
    rng = np.random.default_rng(5)
    emb = {
        "static_lmk_faces_idx": torch.tensor(rng.integers(0, F, 51)),
        "static_lmk_bary_coords": torch.tensor(rng.dirichlet([1, 1, 1], 51)),
        "dynamic_lmk_faces_idx": torch.tensor(rng.integers(0, F, (79, 17))),
        "dynamic_lmk_bary_coords": torch.tensor(rng.dirichlet([1, 1, 1], (79, 17))),
        "full_lmk_faces_idx": torch.tensor(rng.integers(0, F, (1, 68))),
        "full_lmk_bary_coords": torch.tensor(rng.dirichlet([1, 1, 1], (1, 68))),
    }
    path = tmp_path / "landmark_embedding.npy"
    np.save(path, emb, allow_pickle=True)
    lm = read_deca_landmarks(path)
    assert lm.static_faces.shape == (51,) and lm.contour_faces.shape == (79, 17)
    # DECA row 0 is yaw 0, row 10 is DECA yaw 10 = this project's yaw -10
    row0 = int(torch.nonzero(lm.contour_yaws == 0))
    assert torch.equal(lm.contour_faces[row0], emb["dynamic_lmk_faces_idx"][0])
    row = int(torch.nonzero(lm.contour_yaws == -10))
    assert torch.equal(lm.contour_faces[row], emb["dynamic_lmk_faces_idx"][10])
    row = int(torch.nonzero(lm.contour_yaws == 5))
    assert torch.equal(lm.contour_faces[row], emb["dynamic_lmk_faces_idx"][44])
    m = FLAME(d / "generic_model.pkl", landmark_path=path)
    out = m()
    # static landmarks are the barycentric points of their faces on the output mesh
    f = m.faces[emb["static_lmk_faces_idx"][0]]
    b = emb["static_lmk_bary_coords"][0].float()
    assert torch.allclose(out.landmarks3d[0, 17], (out.vertices[0, f] * b[:, None]).sum(0), atol=1e-6)
    # the landmark-only evaluation (a vertex subset, pose correctives included) gives the same points
    torch.manual_seed(0)
    shape, expr = torch.randn(2, 100), torch.randn(2, 50)
    pose = HeadPose(*(0.3 * torch.randn(2, 3) for _ in range(5)))
    assert torch.allclose(m.forward_landmarks(shape, expr, pose),
                          m(shape=shape, expression=expr, pose=pose).landmarks3d, atol=1e-6)


def test_head_template_obj_uvs(tmp_path, flame_files):
    d, a = flame_files
    lines = [f"v {x} {y} {z}" for x, y, z in a["v_template"]]
    lines += [f"vt {u} {v}" for u, v in np.random.default_rng(0).random((V + 100, 2))]
    lines += [f"f {i+1}/{i+1} {j+1}/{j+1} {k+1}/{k+1}" for i, j, k in a["f"].astype(int)]
    obj = tmp_path / "head_template.obj"
    obj.write_text("\n".join(lines))
    m = FLAME(d / "generic_model.pkl", uv_obj_path=obj)
    assert m.uv_layout.faces.shape == (F, 3)
    assert torch.equal(m.uv_layout.vertex[m.uv_layout.faces], m.faces)


def test_mediapipe_embedding_puts_the_points_where_openhead_does(flame_standin, openhead):
    """The stand-in's mediapipe_landmark_embedding.npz is OpenHead's dense embedding on the same
    geometry: FLAME reads it (no pickle) and puts each MediaPipe point where OpenHead does."""
    m = FLAME(flame_standin["flame_path"], mediapipe_path=flame_standin["flame_mediapipe"])
    emb = m.landmark_set("mediapipe478")
    index = emb.detector_index()
    assert 50 < len(index) < 468 and emb.contour_faces.shape[1] == 0
    ours = m(embedding=emb).landmarks3d[0]
    dense = openhead.landmark_set("mediapipe478")
    theirs = openhead(embedding=dense).landmarks3d[0]
    pos = {int(k): i for i, k in enumerate(dense.detector_index())}
    assert torch.allclose(ours, theirs[[pos[int(k)] for k in index]], atol=1e-5)
    assert set(m.landmark_sets()) == {"ibug68", "mediapipe478"}
    assert set(FLAME(flame_standin["flame_path"]).landmark_sets()) == {"ibug68"}


@pytest.mark.parametrize("damage, message", [
    (lambda z: {k: v for k, v in z.items() if k != "landmark_indices"}, "lacks"),
    (lambda z: {**z, "lmk_b_coords": np.array([object()] * len(z["lmk_face_idx"]))}, "pickle"),
    (lambda z: {**z, "landmark_indices": z["landmark_indices"] + 1000}, "out of range"),
    (lambda z: {**z, "lmk_face_idx": z["lmk_face_idx"][:3]}, "faces"),
])
def test_a_damaged_mediapipe_embedding_is_refused(tmp_path, flame_standin, damage, message):
    with np.load(flame_standin["flame_mediapipe"]) as z:
        arrays = damage({k: z[k] for k in z.files})
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    with pytest.raises(ModelFileError, match=message):
        FLAME(flame_standin["flame_path"], mediapipe_path=bad)
