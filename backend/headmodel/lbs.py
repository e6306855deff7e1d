"""Linear blend skinning along a kinematic tree (the SMPL/FLAME formulation).

Frames: every joint's rest frame is aligned with the world (FLAME frame: metres, y up, face toward
+z); a joint's pose is an axis-angle rotation (radians) in its parent's frame about the joint.
"""
from __future__ import annotations

import torch


def axis_angle_to_matrix(aa: torch.Tensor) -> torch.Tensor:
    """Rodrigues: (..., 3) axis-angle -> (..., 3, 3), smooth at zero (differentiable)."""
    theta2 = (aa * aa).sum(-1, keepdim=True)
    theta = torch.sqrt(theta2 + 1e-16)
    k = aa / theta
    kx, ky, kz = k.unbind(-1)
    zero = torch.zeros_like(kx)
    K = torch.stack([zero, -kz, ky, kz, zero, -kx, -ky, kx, zero], -1).view(*aa.shape[:-1], 3, 3)
    s = torch.sin(theta)[..., None]
    c = torch.cos(theta)[..., None]
    eye = torch.eye(3, dtype=aa.dtype, device=aa.device).expand_as(K)
    return eye + s * K + (1 - c) * (K @ K)


def matrix_to_axis_angle(R: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) rotation -> (..., 3) axis-angle (angles below pi)."""
    cos = ((R[..., 0, 0] + R[..., 1, 1] + R[..., 2, 2] - 1) / 2).clamp(-1 + 1e-7, 1 - 1e-7)
    angle = torch.acos(cos)
    axis = torch.stack([R[..., 2, 1] - R[..., 1, 2], R[..., 0, 2] - R[..., 2, 0],
                        R[..., 1, 0] - R[..., 0, 1]], -1)
    s = torch.sin(angle)[..., None]
    return axis / (2 * s).clamp(min=1e-12) * angle[..., None]


def blend_shapes(directions: torch.Tensor, coefficients: torch.Tensor) -> torch.Tensor:
    """directions (V, 3, K) per-vertex (or per-joint) offsets, coefficients (B, K) -> (B, V, 3)
    = sum_k c_k d_k, as one matrix product on the (V*3, K) rows: the same numbers as the einsum
    "vck,bk->bvc", with a backward that is one product too (a fitting step pays it each time)."""
    out = torch.nn.functional.linear(coefficients, directions.reshape(-1, directions.shape[-1]))
    return out.view(coefficients.shape[0], -1, 3)


def world_transforms(rot: torch.Tensor, joints: torch.Tensor, parents: list[int]):
    """Posed joint positions and the skinning transforms.

    rot: (B, J, 3, 3) local rotations; joints: (B, J, 3) rest positions; parents[j] < j, root -1.
    Returns (posed joints (B, J, 3), A (B, J, 4, 4) mapping rest space to posed space).
    """
    B, J = joints.shape[:2]
    chain_R, chain_t = [], []
    for j in range(J):
        p = parents[j]
        if p < 0:
            chain_R.append(rot[:, j])
            chain_t.append(joints[:, j])
        else:
            chain_R.append(chain_R[p] @ rot[:, j])
            chain_t.append(chain_t[p] + (chain_R[p] @ (joints[:, j] - joints[:, p])[..., None])[..., 0])
    Rw = torch.stack(chain_R, 1)
    tw = torch.stack(chain_t, 1)
    # A_j x = Rw_j (x - J_j) + tw_j
    t_skin = tw - (Rw @ joints[..., None])[..., 0]
    A = torch.zeros(B, J, 4, 4, dtype=joints.dtype, device=joints.device)
    A[..., :3, :3] = Rw
    A[..., :3, 3] = t_skin
    A[..., 3, 3] = 1
    return tw, A, Rw


def skin(vertices: torch.Tensor, weights: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
    """vertices (B, V, 3) rest, weights (V, J), A (B, J, 4, 4) -> posed (B, V, 3): each vertex's
    blended 3 x 4 transform applied to its homogeneous position."""
    T = torch.einsum("vj,bjkl->bvkl", weights, A[:, :, :3])                     # (B, V, 3, 4)
    homogeneous = torch.cat([vertices, torch.ones_like(vertices[..., :1])], -1)
    return (T @ homogeneous[..., None])[..., 0]
