"""OpenHead: the default head model, built from CC0 MakeHuman data (see assets/openhead/).

Linear identity basis (unit-variance PCA coefficients), the 52 ARKit expressions as linear
blendshapes, a six-joint skeleton root/neck/head/jaw/eye.L/eye.R with linear blend skinning, and
separate parts (skin, eyeballs, teeth, tongue). FLAME's frame: metres, y up, face toward +z.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .base import HeadModel, HeadPose, ModelFileError, UVLayout
from .landmarks import LandmarkEmbedding
from .lbs import axis_angle_to_matrix, blend_shapes

ASSETS = Path(__file__).resolve().parents[2] / "assets"
DEFAULT_ASSET = ASSETS / "openhead" / "openhead.npz"
DENSE_ASSET = ASSETS / "openhead" / "mediapipe478.npz"   # MediaPipe's mesh points (build-openhead --dense-only)


def load_npz(path: Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(
            f"OpenHead asset not found at {path}. It ships in the repository under assets/openhead/;"
            " rebuild it with `headsmith build-openhead` (needs `pip install -e .[build]`).")
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def load_dense_embedding(path: Path, dtype=torch.float32) -> LandmarkEmbedding:
    """A dense point set's embedding (openhead_build.build_dense_landmarks)."""
    a = load_npz(path)
    i = lambda x: torch.as_tensor(np.asarray(x), dtype=torch.int64)  # noqa: E731
    t = lambda x: torch.as_tensor(np.asarray(x), dtype=dtype)  # noqa: E731
    outline = int(a["outline"]) if "outline" in a else None
    return LandmarkEmbedding(i(a["static_faces"]), t(a["static_bary"]), t(a["contour_yaws"]),
                             i(a["contour_faces"]), t(a["contour_bary"]), i(a["point_index"]), outline)


class OpenHead(HeadModel):
    def __init__(self, path: Path | str = DEFAULT_ASSET, n_shape: int | None = None,
                 dtype=torch.float32):
        super().__init__()
        a = load_npz(Path(path))
        self.name = "openhead"
        self.asset_path = Path(path)
        k = a["shapedirs"].shape[-1] if n_shape is None else min(n_shape, a["shapedirs"].shape[-1])
        self.n_shape = int(k)
        self.expression_names = [str(s) for s in a["expression_names"]]
        self.n_expression = len(self.expression_names)
        self.joint_names = [str(s) for s in a["joint_names"]]
        self.parents = [int(p) for p in a["parents"]]
        self.part_names = [str(s) for s in a["part_names"]]
        t = lambda x: torch.as_tensor(np.asarray(x), dtype=dtype)  # noqa: E731
        i = lambda x: torch.as_tensor(np.asarray(x), dtype=torch.int64)  # noqa: E731
        self.register_buffer("v_template", t(a["v_template"]))
        self.register_buffer("shapedirs", t(a["shapedirs"][..., :k]))
        self.register_buffer("exprdirs", t(a["exprdirs"]))
        self.register_buffer("J_template", t(a["J_template"]))
        self.register_buffer("J_shapedirs", t(a["J_shapedirs"][..., :k]))
        self.register_buffer("skin_weights", t(a["skin_weights"]))
        self.register_buffer("faces", i(a["faces"]))
        self.register_buffer("face_part", i(a["face_part"]))
        self.register_buffer("vertex_part", i(a["vertex_part"]))
        self.register_buffer("symmetry", i(a["symmetry"]))
        self.register_buffer("shape_std", t(a["shape_std"][:k]))
        self.uv_layout = UVLayout(t(a["uv"]), i(a["uv_faces"]), i(a["uv_vertex"]))
        if "lmk_static_faces" in a:
            self.landmarks = LandmarkEmbedding(
                i(a["lmk_static_faces"]), t(a["lmk_static_bary"]), t(a["lmk_contour_yaws"]),
                i(a["lmk_contour_faces"]), t(a["lmk_contour_bary"]))
        else:  # only while the builder is between its two stages
            z = torch.zeros
            self.landmarks = LandmarkEmbedding(z(51, dtype=torch.int64), z(51, 3), z(1),
                                               z(1, 17, dtype=torch.int64), z(1, 17, 3))
        self.extra_landmark_sets = {}
        if Path(path) == DEFAULT_ASSET and DENSE_ASSET.is_file():
            self.extra_landmark_sets["mediapipe478"] = load_dense_embedding(DENSE_ASSET, dtype)
        self.region_names = [str(s) for s in a.get("region_names", np.array([], dtype=str))]
        self.register_buffer("region_masks", t(a["region_masks"]) / 255.0 if "region_masks" in a
                             else torch.zeros(0, 1, 1))
        self.register_buffer("vertex_regions", t(a["vertex_regions"]) if "vertex_regions" in a
                             else torch.zeros(0, self.v_template.shape[0]))

    def rest_shape(self, shape: torch.Tensor, expression: torch.Tensor, vertices: torch.Tensor | None = None):
        shape = shape[:, : self.n_shape]
        rows = lambda name: self.vertex_rows(name, vertices)  # noqa: E731
        v = (rows("v_template") + blend_shapes(rows("shapedirs"), shape)
             + blend_shapes(rows("exprdirs"), expression))
        j = self.J_template + blend_shapes(self.J_shapedirs, shape)
        return v, j

    def joint_rotations(self, pose: HeadPose) -> torch.Tensor:
        # The neck rotation is shared between the neck and head joints, as a real neck bends.
        half = 0.5 * pose.neck
        aa = torch.stack([pose.global_rot, half, half, pose.jaw, pose.eye_left, pose.eye_right], 1)
        return axis_angle_to_matrix(aa)

    def head_rotation(self, pose: HeadPose) -> torch.Tensor:
        return axis_angle_to_matrix(pose.global_rot) @ axis_angle_to_matrix(pose.neck)

    def expression_vector(self, weights: dict[str, float], batch: int = 1) -> torch.Tensor:
        """ARKit-named weights -> (B, 52) expression coefficients."""
        e = self.v_template.new_zeros(batch, self.n_expression)
        for name, w in weights.items():
            if name not in self.expression_names:
                raise KeyError(f"unknown expression {name!r}; OpenHead uses the 52 ARKit names")
            e[:, self.expression_names.index(name)] = w
        return e
