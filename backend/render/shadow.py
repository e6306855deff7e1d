"""Shadows a directional light casts on a mesh: a depth map rendered from the light (an
orthographic view along it), against which points of the surface are tested.

Frames: world metres, the camera frame of render/camera.py (x right, y up, +z towards the
camera); a light direction points from the surface towards the light (n . l > 0 is lit).
"""
from __future__ import annotations

import torch
import torch.nn.functional as Fn

from .camera import OrthographicCamera
from .rasterize import rasterize

SHADOW_BIAS_M = 0.002     # depth tolerance at normal incidence, metres (slope-scaled below)
MIN_SLOPE_COS = 0.15      # the bias grows as 1 / cos up to this grazing angle


def rotation_to_z(direction: torch.Tensor) -> torch.Tensor:
    """(3, 3) rotation taking the unit vector `direction` (3,) to +z (Rodrigues)."""
    d = Fn.normalize(direction.float(), dim=0)
    z = torch.tensor([0.0, 0.0, 1.0])
    axis = torch.linalg.cross(d, z)
    s, c = axis.norm(), torch.dot(d, z)
    if s < 1e-8:
        return torch.eye(3) if c > 0 else torch.diag(torch.tensor([1.0, -1.0, -1.0]))
    k = axis / s
    K = torch.tensor([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return torch.eye(3) + s * K + (1 - c) * (K @ K)


def light_visibility(vertices: torch.Tensor, faces: torch.Tensor, points: torch.Tensor, normals: torch.Tensor,
                     direction: torch.Tensor, size: int = 512) -> torch.Tensor:
    """vertices (V, 3) and faces (F, 3) of the occluding mesh; points (N, 3) and their unit
    normals (N, 3) on its surface; direction (3,) towards the light. -> (N,) float: 1 where the
    light reaches a point, 0 where the mesh itself stands in its way (the depth map is `size`
    pixels square over the mesh's extent seen from the light)."""
    R = rotation_to_z(direction)
    v = vertices.float() @ R.T
    lo, hi = v[:, :2].min(0).values, v[:, :2].max(0).values
    scale = 1.9 / float((hi - lo).max().clamp(min=1e-6))            # NDC spans 2: a 5 % margin
    centre = (lo + hi) / 2
    cam = OrthographicCamera(torch.tensor([[scale, -float(centre[0]), -float(centre[1])]]))
    depth = rasterize(cam.project(v[None], size, size), faces.long(), size, size, cull_backfaces=True).depth[0].clone()
    depth[~torch.isfinite(depth)] = 1e9
    q = cam.project(points.float()[None] @ R.T, size, size)[0]
    grid = (q[:, :2] / size * 2 - 1).reshape(1, -1, 1, 2)
    nearest = Fn.grid_sample(depth[None, None], grid, mode="nearest", align_corners=False)[0, 0, :, 0]
    cos = (normals.float() @ Fn.normalize(direction.float(), dim=0)).clamp(min=MIN_SLOPE_COS)
    return (q[:, 2] <= nearest + SHADOW_BIAS_M / cos).float()
