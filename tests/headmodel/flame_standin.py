"""A FLAME stand-in with the real file formats, made from OpenHead's geometry.

FLAME and DECA's files are licensed to each user and can never ship with Headsmith or its tests,
so the FLAME path is tested on files written here in exactly their formats: `generic_model.pkl`
(chumpy-pickled arrays, scipy-sparse J_regressor, 300 identity + 100 expression directions, 5
joints root/neck/jaw/eyes), DECA's `landmark_embedding.npy` (51 static points, 79 dynamic contour
rows indexed by DECA's yaw), `head_template.obj` (UVs) and `FLAME_masks.pkl` (DECA's region
names). The geometry is OpenHead's skin and eyeballs (teeth and tongue dropped, as FLAME has
none), so a photo of a face fits it like a real head: identity from OpenHead's basis, expression
from the principal components of its 52 ARKit shapes.
"""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import scipy.sparse
import torch

from headsmith.detect.point_sets import POINT_SETS
from tests.headmodel.test_flame import write_flame_pickle

N_EXPRESSION_DIRS = 100


def _joint_regressor(v_template, shapedirs, joints, joint_shapedirs, k=40):
    """Sparse (J, V) rows, each a sum-to-one weighting of the k vertices nearest its joint that
    reproduces the joint for the template and (in least squares) along every identity direction."""
    rows, cols, vals = [], [], []
    for j, c in enumerate(joints):
        near = np.argsort(np.linalg.norm(v_template - c, axis=1))[:k]
        # unknown w (k,): sum_i w_i v_i(b) = J(b) for the template and each direction, sum w = 1
        A = [v_template[near].T] + [shapedirs[near, :, i].T for i in range(shapedirs.shape[-1])]
        b = [c] + [joint_shapedirs[j, :, i] for i in range(shapedirs.shape[-1])]
        A = np.concatenate(A + [np.ones((1, k))])
        b = np.concatenate(b + [np.ones(1)])
        reg = 1e-4 * np.eye(k)   # keep the weights near uniform where the system is loose
        w = np.linalg.solve(A.T @ A + reg, A.T @ b + reg @ np.full(k, 1 / k))
        rows += [j] * k
        cols += near.tolist()
        vals += w.tolist()
    return scipy.sparse.csc_matrix((vals, (rows, cols)), shape=(len(joints), len(v_template)))


def write_flame_standin(out: Path, model=None) -> dict[str, Path]:
    """Write generic_model.pkl, landmark_embedding.npy, head_template.obj, FLAME_masks.pkl and
    mediapipe_landmark_embedding.npz under `out`; returns their paths by the settings' names."""
    from headsmith.headmodel import OpenHead

    m = model or OpenHead()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    keep = (m.vertex_part <= 2).numpy()                          # skin and the two eyeballs
    new_index = np.full(len(keep), -1)
    new_index[keep] = np.arange(keep.sum())
    faces = m.faces.numpy()
    face_keep = keep[faces].all(1)
    f = new_index[faces[face_keep]].astype(np.uint32)
    vt = m.v_template.numpy().astype(np.float64)[keep]
    V = len(vt)
    shapedirs = np.zeros((V, 3, 300 + N_EXPRESSION_DIRS))
    sd = m.shapedirs.numpy().astype(np.float64)[keep]
    shapedirs[..., : sd.shape[-1]] = sd
    # expression: principal directions of the 52 ARKit shapes, scaled to unit-variance coefficients
    ed = m.exprdirs.numpy().astype(np.float64)[keep].reshape(V * 3, -1)     # (3V, 52)
    U, S, _ = np.linalg.svd(ed, full_matrices=False)
    n = min(50, U.shape[1])
    shapedirs[..., 300:300 + n] = (U[:, :n] * S[:n] / np.sqrt(ed.shape[1])).reshape(V, 3, n)
    # joints: FLAME's root, neck, jaw, eye.L, eye.R (OpenHead's head joint merges into the neck)
    oh = {nm: i for i, nm in enumerate(m.joint_names)}
    order = [oh["root"], oh["neck"], oh["jaw"], oh["eye.L"], oh["eye.R"]]
    J = m.J_template.numpy().astype(np.float64)[order]
    Jsd = m.J_shapedirs.numpy().astype(np.float64)[order]
    w_oh = m.skin_weights.numpy().astype(np.float64)[keep]
    w = w_oh[:, order].copy()
    w[:, 1] += w_oh[:, oh["head"]]
    arrays = dict(v_template=vt, f=f, shapedirs=shapedirs, posedirs=np.zeros((V, 3, 36)),
                  J_regressor=_joint_regressor(vt, sd, J, Jsd), weights=w,
                  kintree_table=np.array([[4294967295, 0, 1, 1, 1], [0, 1, 2, 3, 4]], dtype=np.uint32))
    paths = {"flame_path": out / "generic_model.pkl", "flame_landmarks": out / "landmark_embedding.npy",
             "flame_uv": out / "head_template.obj", "flame_masks": out / "FLAME_masks.pkl"}
    write_flame_pickle(paths["flame_path"], arrays)

    # landmarks: faces re-indexed to the kept mesh; DECA's 79 contour rows by nearest OpenHead yaw
    face_new = np.full(len(faces), -1)
    face_new[face_keep] = np.arange(face_keep.sum())
    lm = m.landmarks
    sf = face_new[lm.static_faces.numpy()]
    yaws = lm.contour_yaws.numpy()
    deca_rows = [(-r if r < 40 else -(39 - r)) for r in range(79)]      # this project's yaw per DECA row
    pick = [int(np.abs(yaws - y).argmin()) for y in deca_rows]
    df = face_new[lm.contour_faces.numpy()[pick]]
    assert (sf >= 0).all() and (df >= 0).all(), "a landmark lies on a dropped face"
    np.save(paths["flame_landmarks"], {
        "static_lmk_faces_idx": sf.astype(np.int64), "static_lmk_bary_coords": lm.static_bary.numpy(),
        "dynamic_lmk_faces_idx": df.astype(np.int64), "dynamic_lmk_bary_coords": lm.contour_bary.numpy()[pick],
    }, allow_pickle=True)

    # UVs: OpenHead's seam-split layout on the kept faces
    uv, uvf = m.uv_layout.uv.numpy(), m.uv_layout.faces.numpy()[face_keep]
    lines = [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in vt]
    lines += [f"vt {u:.6f} {v:.6f}" for u, v in uv]
    lines += [f"f {a + 1}/{ta + 1} {b + 1}/{tb + 1} {c + 1}/{tc + 1}" for (a, b, c), (ta, tb, tc) in zip(f, uvf)]
    paths["flame_uv"].write_text("\n".join(lines) + "\n")

    # DECA's mask names, from OpenHead's regions and parts
    reg = {nm: np.nonzero(m.vertex_regions[i].numpy()[keep] > 0)[0] for i, nm in enumerate(m.region_names)}
    part = m.vertex_part.numpy()[keep]
    x = vt[:, 0]
    masks = {"face": reg["face"], "forehead": reg["forehead"], "eye_region": reg["eyes"], "nose": reg["nose"],
             "lips": reg["mouth"], "neck": reg["neck"], "scalp": reg["scalp"],
             "left_ear": reg["ears"][x[reg["ears"]] > 0], "right_ear": reg["ears"][x[reg["ears"]] < 0],
             "left_eyeball": np.nonzero(part == 1)[0], "right_eyeball": np.nonzero(part == 2)[0],
             "left_eye_region": reg["eyes"][x[reg["eyes"]] > 0], "right_eye_region": reg["eyes"][x[reg["eyes"]] < 0],
             "boundary": np.zeros(0, np.int64)}
    with open(paths["flame_masks"], "wb") as fh:
        pickle.dump(masks, fh, protocol=2)

    # FLAME's mediapipe_landmark_embedding.npz: like the real one, part of MediaPipe's points (the
    # eyes, lips and a spread of the rest; no face oval), here OpenHead's dense embedding as it
    # stands on a frontal head (its yaw-0 row)
    paths["flame_mediapipe"] = out / "mediapipe_landmark_embedding.npz"
    dense = m.landmark_set("mediapipe478")
    row, K = int(dense.contour_row(torch.zeros(1))[0]), dense.n_outline
    idx = dense.detector_index().numpy()[K:]
    sfaces = face_new[np.concatenate([dense.contour_faces[row, K:].numpy(), dense.static_faces.numpy()])]
    sbary = np.concatenate([dense.contour_bary[row, K:].numpy(), dense.static_bary.numpy()])
    pick = (np.isin(idx, POINT_SETS["mediapipe478"].eyes + POINT_SETS["mediapipe478"].lips)
            | (np.arange(len(idx)) % 5 == 0)) & (sfaces >= 0)
    np.savez(paths["flame_mediapipe"], lmk_face_idx=sfaces[pick].astype(np.int64),
             lmk_b_coords=sbary[pick].astype(np.float64), landmark_indices=idx[pick].astype(np.int64))
    return paths
