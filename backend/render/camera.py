"""Cameras: world points (metres, FLAME frame: y up, face toward +z) to screen points.

Screen points are (B, N, 3) = (u, v, depth): u, v in pixels of an H x W image (u right, v down,
pixel centres at integer + 0.5), depth in metres along the viewing ray, smaller is nearer.
Both cameras look from +z toward -z, as DECA's does.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch


def ndc_to_pixels(xy: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """NDC (x right, y up, [-1, 1] across the image) -> pixel coordinates (u right, v down)."""
    u = (xy[..., 0] + 1.0) * (0.5 * width)
    v = (1.0 - xy[..., 1]) * (0.5 * height)
    return torch.stack([u, v], dim=-1)


def pixels_to_ndc(uv: torch.Tensor, height: int, width: int) -> torch.Tensor:
    x = uv[..., 0] / (0.5 * width) - 1.0
    y = 1.0 - uv[..., 1] / (0.5 * height)
    return torch.stack([x, y], dim=-1)


@dataclass
class OrthographicCamera:
    """DECA's weak-perspective camera: x_ndc = s * (x + tx), y_ndc = s * (y + ty).

    cam: (B, 3) = (s, tx, ty); s in 1/metres (NDC units per metre), t in metres.
    """

    cam: torch.Tensor

    def project_ndc(self, points: torch.Tensor) -> torch.Tensor:
        """(B, N, 3) world -> (B, N, 2) NDC (x right, y up)."""
        return self.cam[:, None, 0:1] * (points[..., :2] + self.cam[:, None, 1:3])

    def project(self, points: torch.Tensor, height: int, width: int) -> torch.Tensor:
        uv = ndc_to_pixels(self.project_ndc(points), height, width)
        depth = -points[..., 2:3]  # the camera sits at +z: larger z is nearer
        return torch.cat([uv, depth], dim=-1)

    @property
    def is_perspective(self) -> bool:
        return False


@dataclass
class PerspectiveCamera:
    """Pinhole camera. x_cam = R x + t (camera frame: x right, y up, looking down -z).

    rotation (B, 3, 3), translation (B, 3) metres, focal (B,) in pixels, principal (B, 2) pixels
    (None: image centre).
    """

    rotation: torch.Tensor
    translation: torch.Tensor
    focal: torch.Tensor
    principal: torch.Tensor | None = None

    def project(self, points: torch.Tensor, height: int, width: int) -> torch.Tensor:
        pc = torch.einsum("bij,bnj->bni", self.rotation, points) + self.translation[:, None]
        depth = (-pc[..., 2]).clamp(min=1e-6)
        if self.principal is None:
            cu = torch.full_like(depth[:, :1], 0.5 * width)
            cv = torch.full_like(depth[:, :1], 0.5 * height)
        else:
            cu, cv = self.principal[:, 0:1], self.principal[:, 1:2]
        f = self.focal[:, None]
        u = cu + f * pc[..., 0] / depth
        v = cv - f * pc[..., 1] / depth
        return torch.stack([u, v, depth], dim=-1)

    @property
    def is_perspective(self) -> bool:
        return True


def look_at_perspective(distance: float, fov_deg: float, height: int, batch: int = 1,
                        dtype=torch.float32, device=None) -> PerspectiveCamera:
    """A camera on the +z axis at `distance` metres looking at the origin."""
    import math

    f = 0.5 * height / math.tan(math.radians(fov_deg) / 2)
    rot = torch.eye(3, dtype=dtype, device=device).expand(batch, 3, 3).clone()
    trans = torch.tensor([0.0, 0.0, -distance], dtype=dtype, device=device).expand(batch, 3).clone()
    return PerspectiveCamera(rot, trans, torch.full((batch,), f, dtype=dtype, device=device))
