"""The one head-model contract that OpenHead and FLAME both implement.

Frame and units everywhere: FLAME's (metres, right-handed, y up, face toward +z, subject's left
at +x). Inputs and outputs are batched float tensors; everything is differentiable.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .landmarks import LandmarkEmbedding


@dataclass
class HeadPose:
    """Axis-angle rotations (B, 3), radians, each in its parent joint's frame.

    global_rot: whole head about the root joint (base of the neck); neck: head on the neck;
    jaw: lower jaw (mouth opens with a positive rotation about +x); eyes: gaze.
    """

    global_rot: torch.Tensor
    neck: torch.Tensor
    jaw: torch.Tensor
    eye_left: torch.Tensor
    eye_right: torch.Tensor

    @staticmethod
    def zeros(batch: int = 1, dtype=torch.float32, device=None) -> "HeadPose":
        z = lambda: torch.zeros(batch, 3, dtype=dtype, device=device)  # noqa: E731
        return HeadPose(z(), z(), z(), z(), z())

    @property
    def batch(self) -> int:
        return self.global_rot.shape[0]


@dataclass
class HeadOutput:
    vertices: torch.Tensor          # (B, V, 3) posed, metres
    joints: torch.Tensor            # (B, J, 3) posed joint positions
    landmarks3d: torch.Tensor       # (B, N, 3) the embedding's points (iBUG-68 by default), contour by head yaw
    rest_vertices: torch.Tensor     # (B, V, 3) shaped + expression, before skinning
    head_yaw_deg: torch.Tensor      # (B,) yaw used for the contour choice (no gradient)
    landmarks2d: torch.Tensor | None = None  # (B, N, 2) pixels, when a camera was given


@dataclass
class UVLayout:
    """Seam-split texture layout: each split vertex has one uv and one mesh vertex.

    uv: (S, 2) in [0, 1], u right, v up; faces: (F, 3) into uv (same order as the mesh faces);
    vertex: (S,) mesh vertex of each split vertex.
    """

    uv: torch.Tensor
    faces: torch.Tensor
    vertex: torch.Tensor


class ModelFileError(RuntimeError):
    """A head-model file is missing or malformed; the message says what to do."""


class HeadModel(torch.nn.Module):
    """Base class; subclasses fill the attributes below in __init__ and implement `rest_shape`."""

    name: str
    n_shape: int
    n_expression: int
    expression_names: list[str]
    joint_names: list[str]
    parents: list[int]
    faces: torch.Tensor             # (F, 3) int64, counter-clockwise seen from outside
    skin_weights: torch.Tensor      # (V, J)
    symmetry: torch.Tensor          # (V,) index of the mirror vertex (x -> -x)
    uv_layout: UVLayout
    landmarks: LandmarkEmbedding
    region_names: list[str]
    region_masks: torch.Tensor      # (R, S, S) float in [0, 1], UV space (row 0 at v = 1)
    face_part: torch.Tensor         # (F,) int part id, names in part_names
    part_names: list[str]
    # the useful range of each expression coefficient: ARKit weights are 0..1, FLAME's PCA
    # coefficients are signed, in standard deviations (sliders, random expressions, bakes use it)
    expression_range: tuple[float, float] = (0.0, 1.0)

    @property
    def n_vertices(self) -> int:
        return int(self.skin_weights.shape[0])

    def region_mask(self, name: str) -> torch.Tensor:
        return self.region_masks[self.region_names.index(name)]

    # -- to implement ---------------------------------------------------------------------
    def rest_shape(self, shape: torch.Tensor, expression: torch.Tensor, vertices: torch.Tensor | None = None):
        """-> (rest vertices (B, V, 3), rest joints (B, J, 3)). vertices: an index (K,) of the
        vertices wanted (then (B, K, 3)); the joints are always all of them."""
        raise NotImplementedError

    def joint_rotations(self, pose: HeadPose) -> torch.Tensor:
        """-> (B, J, 3, 3) local rotation per joint of this model's skeleton."""
        raise NotImplementedError

    def pose_corrective(self, rot: torch.Tensor, vertices: torch.Tensor | None = None) -> torch.Tensor | None:
        """Optional pose-dependent offsets (B, V, 3) in rest space (FLAME's posedirs); (B, K, 3)
        for a vertex index (K,)."""
        return None

    def head_rotation(self, pose: HeadPose) -> torch.Tensor:
        """World rotation of the head (B, 3, 3): what the contour landmarks follow."""
        raise NotImplementedError

    # -- shared -----------------------------------------------------------------------------
    def vertex_rows(self, buffer: str, vertices: torch.Tensor | None) -> torch.Tensor:
        """The rows of a per-vertex buffer (template, blendshapes, skin weights) for a vertex
        index (K,), all of it for None. A landmark fit asks for the same subset every step, so
        the gather is kept (per index tensor and buffer) instead of copied anew each time."""
        buf = getattr(self, buffer)
        if vertices is None:
            return buf
        cache = self.__dict__.setdefault("_vertex_rows", {})   # (buffer, id(index)) -> (index, buf, rows)
        hit = cache.get((buffer, id(vertices)))
        if hit is None or hit[0] is not vertices or hit[1] is not buf:
            hit = (vertices, buf, buf[vertices])
            cache[(buffer, id(vertices))] = hit
        return hit[2]

    def eyeball_centres(self):
        """(2, 3) float64 numpy: centres of spheres fitted to the rest eyeballs (eye.R, eye.L),
        metres. Least squares |p - c|^2 = r^2, i.e. 2 p.c + (r^2 - |c|^2) = |p|^2, so a model
        whose eyeball is only its front cap still gets the right centre."""
        import numpy as np

        v = self.v_template.detach().cpu().double().numpy()
        vpart = self.vertex_part.cpu().numpy()
        out = []
        for eye in ("eye.R", "eye.L"):
            p = v[vpart == self.part_names.index(eye)]
            A = np.c_[2 * p, np.ones(len(p))]
            out.append(np.linalg.lstsq(A, (p * p).sum(1), rcond=None)[0][:3])
        return np.stack(out)

    def iris_embedding(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Where each eyeball's forward axis (+z through the centre of a sphere fitted to its
        vertices, in the rest template) leaves the eyeball mesh: the centre of the visible iris.
        -> face index (2,) and barycentric weights (2, 3), ordered (eye.R, eye.L): the image-left
        then the image-right eye of a face seen from the front, as dlib's points 36-41 and 42-47.
        A point on a triangle moves rigidly with it, so it follows the eye joint exactly."""
        import numpy as np

        v = self.v_template.detach().cpu().double().numpy()
        f = self.faces.cpu().numpy()
        fpart = self.face_part.cpu().numpy()
        fids, bary = [], []
        for eye, c in zip(("eye.R", "eye.L"), self.eyeball_centres()):
            fi = np.nonzero(fpart == self.part_names.index(eye))[0]
            a, b, d = (v[f[fi, k]] for k in range(3))             # (n, 3) each
            # Moller-Trumbore for the ray c + t (0, 0, 1), all of the eyeball's faces at once
            e1, e2 = b - a, d - a
            h = np.cross((0.0, 0.0, 1.0), e2)
            det = (e1 * h).sum(1)
            det = np.where(np.abs(det) < 1e-15, np.nan, det)       # parallel faces never hit
            sa = c - a
            u = (sa * h).sum(1) / det
            q = np.cross(sa, e1)
            w = q[:, 2] / det
            t = (e2 * q).sum(1) / det
            hit = (u >= -1e-9) & (w >= -1e-9) & (u + w <= 1 + 1e-9) & (t > 0)
            if not hit.any():
                raise ValueError(f"{self.name}: the forward axis of {eye} misses its eyeball mesh")
            k = int(np.nanargmax(np.where(hit, t, -np.inf)))       # the front crossing
            fids.append(int(fi[k]))
            bary.append((1 - u[k] - w[k], u[k], w[k]))
        dev = self.v_template.device
        return (torch.tensor(fids, dtype=torch.long, device=dev),
                torch.tensor(bary, dtype=self.v_template.dtype, device=dev))

    def _apply(self, fn, recurse=True):
        """Keep the non-buffer tensors (UV layout, landmark embedding) with the buffers on
        .to(device) / .double()."""
        out = super()._apply(fn, recurse)
        dev, dt = self.v_template.device, self.v_template.dtype
        self.uv_layout = UVLayout(self.uv_layout.uv.to(dev, dt), self.uv_layout.faces.to(dev),
                                  self.uv_layout.vertex.to(dev))
        self.landmarks = self.landmarks.to(dev, dt)
        if hasattr(self, "extra_landmark_sets"):
            self.extra_landmark_sets = {k: v.to(dev, dt) for k, v in self.extra_landmark_sets.items()}
        return out

    def _check_inputs(self, shape, expression, pose, translation) -> int:
        """Batch size of the inputs; clear errors for wrong shapes instead of broadcasting."""
        batches = {}
        for name, t, width in (("shape", shape, self.n_shape), ("expression", expression, self.n_expression),
                               ("translation", translation, 3)):
            if t is None:
                continue
            if t.dim() != 2 or t.shape[1] > width or (name == "translation" and t.shape[1] != 3):
                raise ValueError(f"{self.name}: {name} must be (B, <= {width}), got {tuple(t.shape)}")
            batches[name] = t.shape[0]
        if pose is not None:
            for f in ("global_rot", "neck", "jaw", "eye_left", "eye_right"):
                t = getattr(pose, f)
                if t.dim() != 2 or t.shape[1] != 3:
                    raise ValueError(f"{self.name}: pose.{f} must be (B, 3) axis-angle, got {tuple(t.shape)}")
                batches[f"pose.{f}"] = t.shape[0]
        sizes = set(batches.values())
        if len(sizes) > 1:
            raise ValueError(f"{self.name}: inputs disagree on the batch size: {batches}")
        return sizes.pop() if sizes else 1

    def forward(self, shape: torch.Tensor | None = None, expression: torch.Tensor | None = None,
                pose: HeadPose | None = None, translation: torch.Tensor | None = None,
                camera=None, image_size: tuple[int, int] | None = None,
                embedding: LandmarkEmbedding | None = None) -> HeadOutput:
        """shape (B, <= n_shape) and expression (B, <= n_expression) coefficients (missing trailing
        ones are zero), pose, translation (B, 3) metres. With a camera and image_size (H, W) the
        output also carries the landmarks projected to pixels. `embedding` picks the landmark set
        (landmark_set(name)); the iBUG-68 one by default."""
        verts, posed_joints, lmk, rest, yaw = self._evaluate(shape, expression, pose, translation, None,
                                                             embedding)
        lmk2d = None
        if camera is not None:
            if image_size is None:
                raise ValueError("image_size (H, W) is needed to project landmarks")
            lmk2d = camera.project(lmk, *image_size)[..., :2]
        return HeadOutput(verts, posed_joints, lmk, rest, yaw, lmk2d)

    def forward_landmarks(self, shape: torch.Tensor | None = None, expression: torch.Tensor | None = None,
                          pose: HeadPose | None = None, translation: torch.Tensor | None = None,
                          embedding: LandmarkEmbedding | None = None) -> torch.Tensor:
        """(B, N, 3) the same landmarks as forward(...).landmarks3d, from only the vertices of the
        embedding's faces in the contour rows the pose picks (900-1,100 of OpenHead's 4,706 for
        MediaPipe's 478, about 200 for iBUG-68): a landmark-fitting step costs a fraction of a
        full evaluation."""
        emb = embedding or self.landmarks
        if pose is None:
            ref = self.skin_weights
            pose = HeadPose.zeros(self._check_inputs(shape, expression, pose, translation), ref.dtype, ref.device)
        yaw = self._contour_yaw(pose)
        index, faces = self._landmark_vertices(emb, tuple(sorted(set(emb.contour_row(yaw).tolist()))))
        return self._evaluate(shape, expression, pose, translation, (index, faces), emb, yaw)[2]

    def landmark_set(self, name: str) -> LandmarkEmbedding:
        """The embedding of a detector's point set ("ibug68", "mediapipe478"); ModelFileError
        when this model has none."""
        sets = self.landmark_sets()
        if name not in sets:
            raise ModelFileError(f"the {self.name} head model has no embedding of the {name} landmarks "
                                 f"(it has {', '.join(sets)}); use --landmarks dlib")
        return sets[name]

    def landmark_sets(self) -> dict[str, LandmarkEmbedding]:
        """Every point set this model embeds: iBUG-68 and the subclass's `extra_landmark_sets`."""
        return {"ibug68": self.landmarks, **getattr(self, "extra_landmark_sets", {})}

    def forward_subset(self, vertices: torch.Tensor, shape: torch.Tensor | None = None,
                       expression: torch.Tensor | None = None, pose: HeadPose | None = None,
                       embedding: LandmarkEmbedding | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """-> ((B, K, 3) the posed vertices of the index `vertices` (K,), (B, N, 3) the landmarks),
        as forward(...) gives them: an optimizer that reads part of the mesh (the photometric
        fit's skin) poses only that part. The index must hold every vertex of the embedding's
        faces (landmark_vertex_index)."""
        emb = embedding or self.landmarks
        checked = self.__dict__.setdefault("_subsets_checked", {})   # (id(index), id(embedding)) -> both
        hit = checked.get((id(vertices), id(emb)))
        if hit is None or hit[0] is not vertices or hit[1] is not emb:   # an optimizer asks every step
            if not bool(torch.isin(self._landmark_vertices(emb)[0], vertices).all()):
                raise ValueError("the vertex subset lacks vertices of the landmark embedding's faces")
            checked[(id(vertices), id(emb))] = (vertices, emb)
        out = self._evaluate(shape, expression, pose, None, (vertices, self.renumbered_faces(vertices)), emb)
        return out[0], out[2]

    def landmark_vertex_index(self, emb: LandmarkEmbedding) -> torch.Tensor:
        """(K,) the vertices of every face the embedding (all contour rows) uses."""
        return self._landmark_vertices(emb)[0]

    def renumbered_faces(self, vertices: torch.Tensor) -> torch.Tensor:
        """(F, 3) the mesh faces renumbered into the sorted vertex index `vertices` (K,); a corner
        outside it points at the subset's first vertex (its face is never read). Kept per index."""
        cache = self.__dict__.setdefault("_renumbered", {})   # id(index) -> (index, faces, renumbered)
        hit = cache.get(id(vertices))
        if hit is None or hit[0] is not vertices or hit[1] is not self.faces:
            local = torch.zeros(self.n_vertices, dtype=torch.long, device=self.faces.device)
            local[vertices] = torch.arange(vertices.numel(), device=self.faces.device)
            hit = (vertices, self.faces, local[self.faces])
            cache[id(vertices)] = hit
        return hit[2]

    def _landmark_vertices(self, emb: LandmarkEmbedding,
                           rows: tuple[int, ...] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The vertices of every face the embedding uses in the contour `rows` (None: all rows),
        and the mesh faces renumbered into that subset."""
        cache = self.__dict__.setdefault("_landmark_subsets", {})   # (id(embedding), rows) -> (emb, faces, index)
        cached = cache.get((id(emb), rows))
        if cached is None or cached[0] is not emb or cached[1] is not self.faces:
            contour = emb.contour_faces if rows is None else emb.contour_faces[list(rows)]
            used = torch.cat([emb.static_faces.reshape(-1), contour.reshape(-1)])
            cached = (emb, self.faces, torch.unique(self.faces[used].reshape(-1)))
            cache[(id(emb), rows)] = cached
        return cached[2], self.renumbered_faces(cached[2])

    def _contour_yaw(self, pose: HeadPose) -> torch.Tensor:
        """(B,) degrees: the head's yaw, which picks the contour row (no gradient to carry)."""
        with torch.no_grad():
            fwd = self.head_rotation(pose)[..., :, 2]
            return torch.rad2deg(torch.atan2(fwd[..., 0], fwd[..., 2]))

    def _evaluate(self, shape, expression, pose, translation, subset, embedding=None, yaw=None):
        """Posed vertices, joints, landmarks, rest vertices and the contour yaw; with subset
        (vertex index (K,), faces renumbered into it) the vertices are only those K. yaw: the
        pose's _contour_yaw when the caller has it already."""
        from .lbs import skin, world_transforms

        B = self._check_inputs(shape, expression, pose, translation)
        ref = self.skin_weights
        if shape is None:
            shape = ref.new_zeros(B, self.n_shape)
        elif shape.shape[1] < self.n_shape:
            shape = torch.cat([shape, shape.new_zeros(B, self.n_shape - shape.shape[1])], 1)
        if expression is None:
            expression = ref.new_zeros(B, self.n_expression)
        elif expression.shape[1] < self.n_expression:
            expression = torch.cat([expression, expression.new_zeros(B, self.n_expression - expression.shape[1])], 1)
        if pose is None:
            pose = HeadPose.zeros(B, ref.dtype, ref.device)
        index, faces = (None, self.faces) if subset is None else subset
        rest, joints = self.rest_shape(shape, expression, index)
        rot = self.joint_rotations(pose)
        corr = self.pose_corrective(rot, index)
        if corr is not None:
            rest = rest + corr
        posed_joints, A, _ = world_transforms(rot, joints, self.parents)
        verts = skin(rest, self.vertex_rows("skin_weights", index), A)
        yaw = self._contour_yaw(pose) if yaw is None else yaw
        lmk = (embedding or self.landmarks).points(verts, faces, yaw)
        if translation is not None:
            t = translation[:, None]
            verts, posed_joints, lmk = verts + t, posed_joints + t, lmk + t
        return verts, posed_joints, lmk, rest, yaw
