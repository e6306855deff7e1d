"""68-point (iBUG order) landmark embedding: barycentric points on faces, with a contour that
depends on head yaw (points 0-16 slide along the jaw as the head turns, as FLAME/DECA's does).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

N_LANDMARKS = 68
N_CONTOUR = 17


@dataclass
class LandmarkEmbedding:
    """static_faces (51,), static_bary (51, 3): points 17..67.
    contour_yaws (K,) degrees, ascending; contour_faces (K, 17), contour_bary (K, 17, 3): points 0..16
    for each yaw row (positive yaw = face turned toward +x). None contour means static points 0..16
    are given as row 0 only."""

    static_faces: torch.Tensor
    static_bary: torch.Tensor
    contour_yaws: torch.Tensor
    contour_faces: torch.Tensor
    contour_bary: torch.Tensor

    def to(self, device=None, dtype=None) -> "LandmarkEmbedding":
        return LandmarkEmbedding(self.static_faces.to(device), self.static_bary.to(device, dtype),
                                 self.contour_yaws.to(device, dtype), self.contour_faces.to(device),
                                 self.contour_bary.to(device, dtype))

    def contour_row(self, yaw_deg: torch.Tensor) -> torch.Tensor:
        """Index (B,) of the contour row nearest to each yaw (clamped to the table's range)."""
        yaws = self.contour_yaws.to(yaw_deg.dtype)
        return (yaw_deg.detach()[:, None] - yaws[None]).abs().argmin(-1)

    def points(self, vertices: torch.Tensor, faces: torch.Tensor, yaw_deg: torch.Tensor) -> torch.Tensor:
        """(B, V, 3) vertices -> (B, 68, 3) landmarks."""
        B = vertices.shape[0]
        row = self.contour_row(yaw_deg)
        lf = torch.cat([self.contour_faces[row], self.static_faces.expand(B, -1)], 1)  # (B, 68)
        lb = torch.cat([self.contour_bary[row], self.static_bary.expand(B, -1, -1)], 1)
        vidx = faces[lf]  # (B, 68, 3)
        tri = torch.gather(vertices, 1, vidx.reshape(B, -1, 1).expand(-1, -1, 3)).view(B, N_LANDMARKS, 3, 3)
        return (tri * lb[..., None].to(vertices.dtype)).sum(2)
