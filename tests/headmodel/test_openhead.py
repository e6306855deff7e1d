"""OpenHead's committed arrays: contents, rig behaviour, batching and gradients."""
import math

import numpy as np
import pytest
import torch

from headsmith.headmodel import HeadPose, OpenHead
from headsmith.headmodel.lbs import axis_angle_to_matrix, matrix_to_axis_angle

ARKIT_52 = {
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft", "eyeBlinkRight",
    "eyeLookDownLeft", "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight", "eyeLookOutLeft",
    "eyeLookOutRight", "eyeLookUpLeft", "eyeLookUpRight", "eyeSquintLeft", "eyeSquintRight",
    "eyeWideLeft", "eyeWideRight", "jawForward", "jawLeft", "jawOpen", "jawRight", "mouthClose",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft", "mouthFrownRight", "mouthFunnel",
    "mouthLeft", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthPressLeft", "mouthPressRight",
    "mouthPucker", "mouthRight", "mouthRollLower", "mouthRollUpper", "mouthShrugLower",
    "mouthShrugUpper", "mouthSmileLeft", "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthUpperUpLeft", "mouthUpperUpRight", "noseSneerLeft", "noseSneerRight", "tongueOut"}


def _edges_closed(faces: np.ndarray) -> bool:
    e = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), 1)
    _, counts = np.unique(e, axis=0, return_counts=True)
    return bool((counts == 2).all())


def test_basis_sizes_and_names(openhead):
    m = openhead
    assert m.n_shape >= 50
    assert m.n_expression == 52 and set(m.expression_names) == ARKIT_52
    assert m.joint_names == ["root", "neck", "head", "jaw", "eye.L", "eye.R"]
    assert m.shape_std[0] >= m.shape_std[-1] > 0
    assert torch.allclose(m.skin_weights.sum(1), torch.ones(m.n_vertices), atol=1e-5)


def test_complete_eyeballs_of_equal_size_and_real_radius(openhead):
    m = openhead
    f = m.faces.numpy()
    fp = m.face_part.numpy()
    sizes = []
    for name, side in (("eye.L", 1.0), ("eye.R", -1.0)):
        part = m.part_names.index(name)
        ef = f[fp == part]
        assert _edges_closed(ef), f"{name} is not a closed surface"
        idx = np.unique(ef)
        sizes.append(len(idx))
        p = m.v_template[idx].numpy()
        c = p.mean(0)
        r = np.linalg.norm(p - c, axis=1)
        assert abs(r.mean() - 0.012) < 0.0005 and r.std() < 0.03 * r.mean()  # a sphere of ~12 mm
        assert np.sign(c[0]) == side  # subject's left eye at +x
        j = m.J_template[m.joint_names.index(name)].numpy()
        assert np.linalg.norm(j - c) < 1e-4  # the eye bone sits at the eyeball centre
    assert sizes[0] == sizes[1]


def test_iris_point_is_on_the_eyeball_axis_and_turns_with_the_eye(openhead):
    m = openhead
    faces, bary = m.iris_embedding()
    assert m.face_part[faces].tolist() == [m.part_names.index("eye.R"), m.part_names.index("eye.L")]

    def iris(pose):
        out = m(pose=pose)
        return (out.vertices[0, m.faces[faces]] * bary[:, :, None]).sum(1), out.joints[0]

    p0, j0 = iris(HeadPose.zeros(1))
    for k, eye in enumerate(("eye.R", "eye.L")):
        d = p0[k] - j0[m.joint_names.index(eye)]
        assert abs(d[0]) < 2e-4 and abs(d[1]) < 2e-4      # straight ahead of the eye's centre
        assert 0.011 < d[2] < 0.0125                       # on the ~12 mm sphere (a chord inside it)
    # yaw the left eye by 0.3 rad: its iris point swings about the eye centre by that angle, the
    # right one stays
    pose = HeadPose.zeros(1)
    pose.eye_left[0, 1] = 0.3
    p1, j1 = iris(pose)
    assert torch.allclose(p1[0], p0[0], atol=1e-7)
    a, b = p0[1] - j0[m.joint_names.index("eye.L")], p1[1] - j1[m.joint_names.index("eye.L")]
    angle = torch.atan2(torch.linalg.cross(a, b).norm(), a @ b)
    assert abs(angle.item() - 0.3) < 1e-4 and b[0] > 0      # turned toward +x (the subject's left)


def test_teeth_present_and_follow_the_jaw(openhead):
    m = openhead
    upper = m.vertex_part == m.part_names.index("teeth.upper")
    lower = m.vertex_part == m.part_names.index("teeth.lower")
    assert upper.sum() > 20 and lower.sum() > 20
    jaw = m.joint_names.index("jaw")
    assert torch.allclose(m.skin_weights[lower, jaw], torch.ones(int(lower.sum())))
    pose = HeadPose.zeros(1)
    pose.jaw[0, 0] = math.radians(20)
    rest = m().vertices[0]
    opened = m(pose=pose).vertices[0]
    moved = (opened - rest).norm(dim=-1)
    assert moved[lower].min() > 0.005          # lower teeth swing with the jaw
    assert moved[upper].max() < 1e-6           # upper teeth stay with the skull
    assert (opened[lower, 1] < rest[lower, 1]).all()  # the mouth opens downward
    # rigid: distances between lower-teeth vertices are preserved
    li = torch.nonzero(lower).squeeze(1)[:10]
    d0 = torch.cdist(rest[li], rest[li])
    d1 = torch.cdist(opened[li], opened[li])
    assert torch.allclose(d0, d1, atol=1e-6)


def test_frame_is_flame_like(openhead):
    v = openhead.v_template
    nose_tip = v[v[:, 2].argmax()]
    assert abs(nose_tip[0]) < 0.005          # the most forward point is on the midline (nose)
    top = v[:, 1].max()
    assert 0.08 < top < 0.16                 # crown above the eyes (origin at eye midpoint)
    assert torch.allclose(openhead.J_template[4:6].mean(0), torch.zeros(3), atol=1e-4)


def test_symmetry_map_is_a_mirror_involution(openhead):
    m = openhead
    s = m.symmetry
    v = m.v_template
    mirrored = v[s] * torch.tensor([-1.0, 1.0, 1.0])
    assert (mirrored - v).norm(dim=-1).max() < 2e-3
    assert (s[s] == torch.arange(len(s))).float().mean() > 0.99


def test_identity_moves_joints_and_expressions_are_local(openhead):
    m = openhead
    beta = torch.zeros(1, m.n_shape)
    beta[0, 0] = 2.0
    out = m(shape=beta)
    assert (out.joints - m.J_template).norm(dim=-1).max() > 1e-3
    # ARKit "Left" is the subject's left, +x here: most of the motion is on that side
    face = m.vertex_regions[m.region_names.index("face")] > 0
    x = m.v_template[:, 0]
    for name in ("eyeBlinkLeft", "mouthSmileLeft", "browOuterUpLeft"):
        d = (m(expression=m.expression_vector({name: 1.0})).vertices[0] - m().vertices[0]).norm(dim=-1)
        assert d[face].max() > 0.005, name
        assert d[face & (x > 0.002)].sum() > 0.85 * d[face].sum(), name


def test_batched_forward_and_gradients(openhead):
    m = openhead
    B = 3
    torch.manual_seed(0)
    shape = torch.randn(B, m.n_shape, requires_grad=True)
    expr = (0.5 * torch.rand(B, m.n_expression)).requires_grad_(True)
    pose = HeadPose.zeros(B)
    pose.neck = (0.2 * torch.randn(B, 3)).requires_grad_(True)
    out = m(shape=shape, expression=expr, pose=pose)
    assert out.vertices.shape == (B, m.n_vertices, 3) and out.landmarks3d.shape == (B, 68, 3)
    single = m(shape=shape[1:2], expression=expr[1:2],
               pose=HeadPose(pose.global_rot[1:2], pose.neck[1:2], pose.jaw[1:2],
                             pose.eye_left[1:2], pose.eye_right[1:2]))
    assert torch.allclose(single.vertices[0], out.vertices[1], atol=1e-6)
    out.landmarks3d.sum().backward()
    assert shape.grad.abs().sum() > 0 and expr.grad.abs().sum() > 0 and pose.neck.grad.abs().sum() > 0


@pytest.mark.parametrize("point_set, share", [("ibug68", 1 / 5), ("mediapipe478", 1 / 2)])
def test_landmark_only_evaluation_equals_the_full_one(openhead, point_set, share):
    """forward_landmarks evaluates only the vertices the embedding uses: the same landmarks and
    the same gradients as the full evaluation, every contour row included, for each point set."""
    m = openhead
    emb_set = m.landmark_set(point_set)
    index, _ = m._landmark_vertices(emb_set)
    assert emb_set.n_points * 2 <= index.numel() < m.n_vertices * share
    torch.manual_seed(1)
    B = 4
    shape = torch.randn(B, m.n_shape, requires_grad=True)
    expr = (0.5 * torch.rand(B, m.n_expression)).requires_grad_(True)
    rot = torch.zeros(B, 3)
    rot[:, 1] = torch.tensor([-0.8, -0.3, 0.2, 0.7])      # yaws across the contour table
    rot.requires_grad_(True)
    pose = HeadPose(rot, 0.1 * torch.randn(B, 3), 0.2 * torch.rand(B, 3), torch.zeros(B, 3), torch.zeros(B, 3))
    full = m(shape=shape, expression=expr, pose=pose, embedding=emb_set).landmarks3d
    part = m.forward_landmarks(shape, expr, pose, embedding=emb_set)
    assert full.shape == (B, emb_set.n_points, 3)
    assert torch.allclose(part, full, atol=1e-7)
    w = torch.randn(B, emb_set.n_points, 3)
    g_full = torch.autograd.grad((full * w).sum(), (shape, expr, rot))
    g_part = torch.autograd.grad((part * w).sum(), (shape, expr, rot))
    for a, b in zip(g_full, g_part):
        assert torch.allclose(a, b, atol=1e-5, rtol=1e-5)
    # one photo at a time poses only its contour row's vertices, a row after another from one cache
    for i in (3, 0, 2, 3):
        one = HeadPose(*(t[i:i + 1].detach() for t in (rot, pose.neck, pose.jaw, pose.eye_left, pose.eye_right)))
        assert torch.allclose(m.forward_landmarks(shape[i:i + 1], expr[i:i + 1], one, embedding=emb_set),
                              full[i:i + 1], atol=1e-7)
    assert len({k for k in m._landmark_subsets if k[0] == id(emb_set)}) >= 4
    # a new embedding (as .to(device) makes) gets its own vertex subset, not the cached one
    other = OpenHead()
    other.forward_landmarks(shape, expr, pose)
    emb = other.landmarks
    moved = emb.static_faces.clone()
    moved[:] = torch.nonzero(other.face_part == 0)[:51, 0]        # faces the old subset lacks
    assert not torch.isin(other.faces[moved].reshape(-1), index).all()
    other.landmarks = type(emb)(moved, emb.static_bary, emb.contour_yaws, emb.contour_faces, emb.contour_bary)
    assert torch.allclose(other.forward_landmarks(shape, expr, pose),
                          other(shape=shape, expression=expr, pose=pose).landmarks3d, atol=1e-7)


def test_a_vertex_subset_poses_as_the_whole_mesh(openhead):
    """forward_subset: the rows of the full evaluation for any index that holds the landmarks'
    vertices (the same vertices, landmarks and gradients), a clear error for one that does not,
    and a cached blendshape gather that a second index does not reuse."""
    m = openhead
    emb = m.landmark_set("mediapipe478")
    lmk_index = m.landmark_vertex_index(emb)
    extra = torch.arange(0, m.n_vertices, 7)
    index = torch.unique(torch.cat([lmk_index, extra]))
    torch.manual_seed(2)
    B = 2
    shape = torch.randn(B, m.n_shape, requires_grad=True)
    expr = (0.5 * torch.rand(B, m.n_expression)).requires_grad_(True)
    pose = HeadPose(torch.tensor([[0.1, 0.5, 0.0], [-0.2, -0.6, 0.1]]), 0.1 * torch.randn(B, 3),
                    0.2 * torch.rand(B, 3), torch.zeros(B, 3), torch.zeros(B, 3))
    full = m(shape=shape, expression=expr, pose=pose, embedding=emb)
    verts, lmk = m.forward_subset(index, shape, expr, pose, emb)
    assert verts.shape == (B, index.numel(), 3)
    assert torch.allclose(verts, full.vertices[:, index], atol=1e-7)
    assert torch.allclose(lmk, full.landmarks3d, atol=1e-7)
    w = torch.randn(B, index.numel(), 3)
    g_full = torch.autograd.grad((full.vertices[:, index] * w).sum(), (shape, expr))
    g_part = torch.autograd.grad((verts * w).sum(), (shape, expr))
    for a, b in zip(g_full, g_part):
        assert torch.allclose(a, b, atol=1e-5, rtol=1e-5)
    other = torch.unique(torch.cat([lmk_index, torch.arange(3, m.n_vertices, 11)]))
    assert torch.allclose(m.forward_subset(other, shape, expr, pose, emb)[0], full.vertices[:, other], atol=1e-7)
    with pytest.raises(ValueError, match="landmark"):
        m.forward_subset(extra, shape, expr, pose, emb)


def test_axis_angle_round_trip():
    torch.manual_seed(1)
    aa = torch.randn(20, 3, dtype=torch.float64)
    aa = aa / aa.norm(dim=-1, keepdim=True) * torch.rand(20, 1, dtype=torch.float64) * 3.0
    R = axis_angle_to_matrix(aa)
    assert torch.allclose(R @ R.transpose(1, 2), torch.eye(3, dtype=torch.float64).expand(20, 3, 3), atol=1e-12)
    assert torch.allclose(matrix_to_axis_angle(R), aa, atol=1e-6)


def test_region_masks_cover_the_face(openhead):
    m = openhead
    for name in ["face", "eyes", "mouth", "forehead", "nose", "cheeks", "neck", "ears"]:
        assert m.region_mask(name).sum() > 50, name
    # the forehead sits above the nose on the mesh
    fr = m.vertex_regions[m.region_names.index("forehead")] > 0
    nr = m.vertex_regions[m.region_names.index("nose")] > 0
    assert m.v_template[fr, 1].mean() > m.v_template[nr, 1].mean() + 0.02


def test_missing_asset_gives_a_clear_error(tmp_path):
    import pytest

    from headsmith.headmodel import ModelFileError

    with pytest.raises(ModelFileError, match="build-openhead"):
        OpenHead(tmp_path / "nope.npz")


def test_bad_inputs_get_clear_errors_and_short_vectors_are_padded(openhead):
    import pytest

    m = openhead
    with pytest.raises(ValueError, match="shape must be"):
        m(shape=torch.zeros(1, m.n_shape + 1))
    with pytest.raises(ValueError, match="batch size"):
        m(shape=torch.zeros(2, 10), expression=torch.zeros(3, 52))
    with pytest.raises(ValueError, match="axis-angle"):
        m(pose=HeadPose(torch.zeros(1, 4), torch.zeros(1, 3), torch.zeros(1, 3), torch.zeros(1, 3), torch.zeros(1, 3)))
    short = torch.zeros(1, 10)
    short[0, 0] = 1.0
    full = torch.zeros(1, m.n_shape)
    full[0, 0] = 1.0
    assert torch.equal(m(shape=short).vertices, m(shape=full).vertices)


def test_landmarks_projected_with_a_camera(openhead):
    from headsmith.render import OrthographicCamera

    cam = OrthographicCamera(torch.tensor([[6.0, 0.0, 0.03]]))
    out = openhead(camera=cam, image_size=(256, 256))
    assert out.landmarks2d.shape == (1, 68, 2)
    # the subject's left outer eye corner (45) is on the image right, the nose (30) is centred
    assert out.landmarks2d[0, 45, 0] > 128 > out.landmarks2d[0, 36, 0]
    assert abs(out.landmarks2d[0, 30, 0].item() - 128) < 3
