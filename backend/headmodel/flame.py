"""FLAME (2020; 2023 where the file has the same layout) from the user's own licensed files.

Nothing of FLAME ships with Headsmith: `generic_model.pkl` comes from the user (registration at
the FLAME site), and so do DECA's `landmark_embedding.npy`, `head_template.obj` and
`FLAME_masks.pkl`. Everything is read through the restricted unpickler (no chumpy import).
FLAME's native frame is already the project's: metres, y up, face toward +z.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .base import HeadModel, HeadPose, UVLayout
from .landmarks import LandmarkEmbedding
from .lbs import axis_angle_to_matrix, blend_shapes
from .openhead import ModelFileError
from .safe_pickle import load_restricted_npy, load_restricted_pickle, to_array

FLAME_KEYS = ("v_template", "f", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table")
JOINT_NAMES = ["root", "neck", "jaw", "eye.L", "eye.R"]
# FLAME's shapedirs hold 300 identity then 100 expression directions (2020 and 2023).
N_IDENTITY_TOTAL = 300
REGION_ALIASES = {"eye_region": "eyes", "lips": "mouth"}   # DECA's FLAME_masks.pkl -> OpenHead's names


def read_flame_pickle(path: Path) -> dict:
    try:
        raw = load_restricted_pickle(path, "FLAME model")
    except FileNotFoundError as e:
        raise ModelFileError(f"{e}. Download FLAME 2020 (generic_model.pkl) from the FLAME site "
                             "after registering, and give its path with --flame.") from e
    if not isinstance(raw, dict):
        raise ModelFileError(f"{path} does not hold a FLAME model dictionary")
    missing = [k for k in FLAME_KEYS if k not in raw]
    if missing:
        raise ModelFileError(f"{path} is missing FLAME keys {missing}; is it generic_model.pkl?")
    return {k: np.asarray(to_array(raw[k])) for k in FLAME_KEYS}


def read_deca_landmarks(path: Path) -> LandmarkEmbedding:
    """DECA's landmark_embedding.npy: 51 static points and a 79-row contour table.

    DECA picks row y for y = round(-yaw) in 0..39 and row 39 - y for negative y, with yaw the
    neck-chain rotation about +y; here the rows are re-indexed by this project's yaw (degrees,
    positive = face turned toward +x), ascending."""
    d = load_restricted_npy(path, "DECA landmark embedding")
    if not isinstance(d, dict):
        raise ModelFileError(f"{path} is not DECA's landmark embedding (expected a dictionary)")
    need = ["static_lmk_faces_idx", "static_lmk_bary_coords", "dynamic_lmk_faces_idx",
            "dynamic_lmk_bary_coords"]
    missing = [k for k in need if k not in d]
    if missing:
        raise ModelFileError(f"{path} lacks {missing}; is it DECA's landmark_embedding.npy?")
    sf = np.asarray(to_array(d["static_lmk_faces_idx"])).astype(np.int64).reshape(-1)
    sb = np.asarray(to_array(d["static_lmk_bary_coords"])).astype(np.float32).reshape(-1, 3)
    df = np.asarray(to_array(d["dynamic_lmk_faces_idx"])).astype(np.int64).reshape(79, 17)
    db = np.asarray(to_array(d["dynamic_lmk_bary_coords"])).astype(np.float32).reshape(79, 17, 3)
    yaws, rows = [], []
    for r in range(79):
        deca_yaw = r if r < 40 else 39 - r
        yaws.append(-float(deca_yaw)); rows.append(r)
    order = np.argsort(yaws)
    rows = np.array(rows)[order]
    return LandmarkEmbedding(torch.as_tensor(sf), torch.as_tensor(sb),
                             torch.as_tensor(np.array(yaws, dtype=np.float32)[order]),
                             torch.as_tensor(df[rows]), torch.as_tensor(db[rows]))


def read_obj_uv(path: Path, n_faces: int) -> tuple[np.ndarray, np.ndarray]:
    """UVs of an OBJ with the model's faces (DECA's head_template.obj): (T, 2), (F, 3)."""
    vt, ft = [], []
    for line in Path(path).read_text(errors="replace").splitlines():
        if line.startswith("vt "):
            vt.append([float(x) for x in line.split()[1:3]])
        elif line.startswith("f "):
            corners = line.split()[1:]
            if len(corners) != 3 or any("/" not in c for c in corners):
                raise ModelFileError(f"{path}: faces must be triangles with texture indices")
            ft.append([int(c.split("/")[1]) - 1 for c in corners])
    if len(ft) != n_faces:
        raise ModelFileError(f"{path} has {len(ft)} faces, the FLAME model {n_faces}")
    return np.asarray(vt, dtype=np.float32), np.asarray(ft, dtype=np.int64)


MEDIAPIPE_KEYS = ("lmk_face_idx", "lmk_b_coords", "landmark_indices")


def read_mediapipe_embedding(path: Path, n_faces: int) -> LandmarkEmbedding:
    """FLAME's `mediapipe_landmark_embedding.npz` (FLAME/MICA release): MediaPipe points (105 of
    them: brows, eyes, nose, lips; no face oval) as FLAME face indices `lmk_face_idx` (N,),
    barycentric coordinates `lmk_b_coords` (N, 3) and their MediaPipe numbers
    `landmark_indices` (N,). Read without pickle; all points static (no contour)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in MEDIAPIPE_KEYS if k not in z.files]
            if missing:
                raise ModelFileError(f"{path} lacks {missing}; is it FLAME's mediapipe_landmark_embedding.npz?")
            faces, bary, index = (np.asarray(z[k]) for k in MEDIAPIPE_KEYS)
    except (OSError, ValueError) as e:
        raise ModelFileError(f"{path}: not a readable .npz without pickled objects ({e})") from e
    faces, index = faces.reshape(-1).astype(np.int64), index.reshape(-1).astype(np.int64)
    bary = bary.reshape(-1, 3).astype(np.float32)
    if not (len(faces) == len(bary) == len(index)) or len(faces) == 0:
        raise ModelFileError(f"{path}: {len(faces)} faces, {len(bary)} barycentric rows, {len(index)} indices")
    if faces.min() < 0 or faces.max() >= n_faces or index.min() < 0 or index.max() >= 468:
        raise ModelFileError(f"{path}: face or MediaPipe indices out of range (FLAME has {n_faces} faces)")
    z = torch.zeros
    return LandmarkEmbedding(torch.as_tensor(faces), torch.as_tensor(bary), z(1), z(1, 0, dtype=torch.int64),
                             z(1, 0, 3), torch.as_tensor(index))


class FLAME(HeadModel):
    def __init__(self, model_path: Path | str, landmark_path: Path | str | None = None,
                 uv_obj_path: Path | str | None = None, masks_path: Path | str | None = None,
                 n_shape: int = 100, n_expression: int = 50, dtype=torch.float32,
                 mediapipe_path: Path | str | None = None):
        super().__init__()
        raw = read_flame_pickle(Path(model_path))
        self.name = "flame"
        V = raw["v_template"].shape[0]
        n_dirs = raw["shapedirs"].shape[-1]
        n_expr_total = n_dirs - N_IDENTITY_TOTAL
        if n_expr_total <= 0 or n_shape > N_IDENTITY_TOTAL or n_expression > n_expr_total:
            raise ModelFileError(f"unexpected FLAME shapedirs {raw['shapedirs'].shape}")
        self.n_shape, self.n_expression = n_shape, n_expression
        self.expression_names = [f"exp{i:03d}" for i in range(n_expression)]
        self.expression_range = (-3.0, 3.0)
        kin = raw["kintree_table"].astype(np.int64)
        parents = kin[0].copy()
        parents[parents > len(parents)] = -1
        parents[0] = -1
        self.parents = [int(p) for p in parents]
        self.joint_names = list(JOINT_NAMES)
        t = lambda x: torch.as_tensor(np.asarray(x, dtype=np.float64), dtype=dtype)  # noqa: E731
        sd = raw["shapedirs"]
        self.register_buffer("v_template", t(raw["v_template"]))
        self.register_buffer("shapedirs", t(sd[..., :n_shape]))
        self.register_buffer("exprdirs", t(sd[..., N_IDENTITY_TOTAL:N_IDENTITY_TOTAL + n_expression]))
        pd = raw["posedirs"]
        self.register_buffer("posedirs", t(pd.reshape(-1, pd.shape[-1]).T))  # (36, V*3)
        # the joints are linear in the coefficients: regressed once (float64) from the template
        # and the bases, so that a landmark-only evaluation (a vertex subset) still gets them
        Jr = np.asarray(raw["J_regressor"], dtype=np.float64)
        J0 = Jr @ np.asarray(raw["v_template"], dtype=np.float64)
        self.register_buffer("J_template", t(J0))
        self.register_buffer("J_shapedirs", t(np.einsum("jv,vck->jck", Jr, sd[..., :n_shape])))
        self.register_buffer("J_exprdirs", t(np.einsum(
            "jv,vck->jck", Jr, sd[..., N_IDENTITY_TOTAL:N_IDENTITY_TOTAL + n_expression])))
        self.register_buffer("skin_weights", t(raw["weights"]))
        self.register_buffer("faces", torch.as_tensor(raw["f"].astype(np.int64)))
        # Which eye joint is the subject's left (+x)?
        self._eye_order = (3, 4) if J0[3, 0] >= J0[4, 0] else (4, 3)
        # Parts: eyeball vertices are those bound entirely to an eye joint.
        w = raw["weights"]
        vpart = np.zeros(V, dtype=np.int64)
        vpart[w[:, self._eye_order[0]] > 0.99] = 1
        vpart[w[:, self._eye_order[1]] > 0.99] = 2
        fpart = np.where(np.isin(raw["f"], np.nonzero(vpart == 1)[0]).all(1), 1,
                         np.where(np.isin(raw["f"], np.nonzero(vpart == 2)[0]).all(1), 2, 0))
        self.part_names = ["skin", "eye.L", "eye.R"]
        self.register_buffer("vertex_part", torch.as_tensor(vpart))
        self.register_buffer("face_part", torch.as_tensor(fpart))
        from scipy.spatial import cKDTree
        vt = raw["v_template"]
        self.register_buffer("symmetry", torch.as_tensor(
            cKDTree(vt).query(vt * np.array([-1.0, 1.0, 1.0]))[1].astype(np.int64)))
        F = raw["f"].shape[0]
        if uv_obj_path is not None:
            uv, uvf = read_obj_uv(Path(uv_obj_path), F)
            corner_vertex = np.zeros(len(uv), dtype=np.int64)
            corner_vertex[uvf.ravel()] = raw["f"].astype(np.int64).ravel()
            self.uv_layout = UVLayout(t(uv), torch.as_tensor(uvf), torch.as_tensor(corner_vertex))
        else:
            self.uv_layout = UVLayout(torch.zeros(0, 2, dtype=dtype),
                                      torch.zeros(0, 3, dtype=torch.int64),
                                      torch.zeros(0, dtype=torch.int64))
        if landmark_path is not None:
            self.landmarks = read_deca_landmarks(Path(landmark_path)).to(None, dtype)
        else:
            z = torch.zeros
            self.landmarks = LandmarkEmbedding(z(51, dtype=torch.int64), z(51, 3, dtype=dtype),
                                               z(1, dtype=dtype), z(1, 17, dtype=torch.int64),
                                               z(1, 17, 3, dtype=dtype))
        self.extra_landmark_sets = {} if mediapipe_path is None else {
            "mediapipe478": read_mediapipe_embedding(Path(mediapipe_path), F).to(None, dtype)}
        self.region_names = []
        self.register_buffer("region_masks", torch.zeros(0, 1, 1, dtype=dtype))
        self.register_buffer("vertex_regions", torch.zeros(0, V, dtype=dtype))
        if masks_path is not None:
            self._load_masks(Path(masks_path), V, dtype)

    def _load_masks(self, path: Path, V: int, dtype) -> None:
        """DECA's FLAME_masks.pkl: region name -> vertex indices."""
        m = load_restricted_pickle(path, "FLAME masks")
        if not isinstance(m, dict):
            raise ModelFileError(f"{path} is not FLAME_masks.pkl (expected a dictionary)")
        names, rows = [], []
        for k, idx in m.items():
            idx = np.asarray(to_array(idx)).astype(np.int64).reshape(-1)
            if idx.size and (idx.min() < 0 or idx.max() >= V):
                raise ModelFileError(f"{path}: region {k!r} indexes outside the mesh")
            row = np.zeros(V, dtype=np.float32)
            row[idx] = 1
            names.append(str(k)); rows.append(row)
        # the project's names for DECA's regions, so that masks, fitting and wrinkle bakes find them
        for deca_name, ours in REGION_ALIASES.items():
            if deca_name in names and ours not in names:
                names.append(ours); rows.append(rows[names.index(deca_name)])
        self.region_names = names
        self.vertex_regions = torch.as_tensor(np.stack(rows), dtype=dtype)

    def rest_shape(self, shape: torch.Tensor, expression: torch.Tensor, vertices: torch.Tensor | None = None):
        shape, expression = shape[:, : self.n_shape], expression[:, : self.n_expression]
        rows = lambda name: self.vertex_rows(name, vertices)  # noqa: E731
        v = (rows("v_template") + blend_shapes(rows("shapedirs"), shape)
             + blend_shapes(rows("exprdirs"), expression))
        j = (self.J_template + blend_shapes(self.J_shapedirs, shape)
             + blend_shapes(self.J_exprdirs, expression))
        return v, j

    def joint_rotations(self, pose: HeadPose) -> torch.Tensor:
        eyes = [None, None]
        eyes[self._eye_order[0] - 3] = pose.eye_left
        eyes[self._eye_order[1] - 3] = pose.eye_right
        aa = torch.stack([pose.global_rot, pose.neck, pose.jaw, eyes[0], eyes[1]], 1)
        return axis_angle_to_matrix(aa)

    def pose_corrective(self, rot: torch.Tensor, vertices: torch.Tensor | None = None) -> torch.Tensor:
        B = rot.shape[0]
        eye = torch.eye(3, dtype=rot.dtype, device=rot.device)
        feat = (rot[:, 1:] - eye).reshape(B, -1)
        dirs = self.posedirs if vertices is None else self.posedirs.view(feat.shape[1], -1, 3)[:, vertices].flatten(1)
        return (feat @ dirs).view(B, -1, 3)

    def head_rotation(self, pose: HeadPose) -> torch.Tensor:
        return axis_angle_to_matrix(pose.global_rot) @ axis_angle_to_matrix(pose.neck)
