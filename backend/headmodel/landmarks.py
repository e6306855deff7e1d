"""Landmark embeddings: barycentric points on faces, with a contour that depends on head yaw (the
contour points slide along the jaw as the head turns, as FLAME/DECA's do). The 68-point iBUG set
has its contour first (points 0-16); a dense set (MediaPipe's 468) names its contour points.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class LandmarkEmbedding:
    """static_faces (S,), static_bary (S, 3): the points that stay on the surface (iBUG: 17..67).
    contour_yaws (K,) degrees, ascending; contour_faces (K, C), contour_bary (K, C, 3): the contour
    points for each yaw row (positive yaw = face turned toward +x; iBUG: points 0..16).
    point_index (C + S,): the detector's number of each output point (contour rows first, then the
    static points), so that a set can cover part of a detector's points (FLAME's 105 of
    MediaPipe's 478); None means 0..C+S-1 (the iBUG layout).
    outline: how many of the C yaw-dependent points (the first ones) are the face's outline, which
    only fits at the right yaw; None means all C (the iBUG layout)."""

    static_faces: torch.Tensor
    static_bary: torch.Tensor
    contour_yaws: torch.Tensor
    contour_faces: torch.Tensor
    contour_bary: torch.Tensor
    point_index: torch.Tensor | None = None
    outline: int | None = None

    @property
    def n_points(self) -> int:
        return self.static_faces.shape[0] + self.contour_faces.shape[1]

    @property
    def n_outline(self) -> int:
        """The number of outline points, which come first."""
        return self.contour_faces.shape[1] if self.outline is None else self.outline

    def to(self, device=None, dtype=None) -> "LandmarkEmbedding":
        return LandmarkEmbedding(self.static_faces.to(device), self.static_bary.to(device, dtype),
                                 self.contour_yaws.to(device, dtype), self.contour_faces.to(device),
                                 self.contour_bary.to(device, dtype),
                                 None if self.point_index is None else self.point_index.to(device), self.outline)

    def detector_index(self) -> torch.Tensor:
        """(N,) the detector's number of each output point."""
        if self.point_index is not None:
            return self.point_index
        return torch.arange(self.n_points, device=self.static_faces.device)

    def contour_row(self, yaw_deg: torch.Tensor) -> torch.Tensor:
        """Index (B,) of the contour row nearest to each yaw (clamped to the table's range)."""
        yaws = self.contour_yaws.to(yaw_deg.dtype)
        return (yaw_deg.detach()[:, None] - yaws[None]).abs().argmin(-1)

    def points(self, vertices: torch.Tensor, faces: torch.Tensor, yaw_deg: torch.Tensor) -> torch.Tensor:
        """(B, V, 3) vertices -> (B, N, 3) landmarks."""
        B = vertices.shape[0]
        row = self.contour_row(yaw_deg)
        lf = torch.cat([self.contour_faces[row], self.static_faces.expand(B, -1)], 1)  # (B, N)
        lb = torch.cat([self.contour_bary[row], self.static_bary.expand(B, -1, -1)], 1)
        vidx = faces[lf]  # (B, N, 3)
        tri = torch.gather(vertices, 1, vidx.reshape(B, -1, 1).expand(-1, -1, 3)).view(B, -1, 3, 3)
        return (tri * lb[..., None].to(vertices.dtype)).sum(2)
