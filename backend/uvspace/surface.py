"""A mesh's surface written into UV space: position and unit normal per texel. The one
implementation that the albedo unwrap, the static detail, the wrinkle normal maps and the
pictures use.

Frames: positions in the head model's frame (metres); maps (B, S, S, 3), row 0 at v = 1.
"""
from __future__ import annotations

import torch
import torch.nn.functional as Fn

from ..render import vertex_normals, world_to_uv


def surface_maps(raster, vertices: torch.Tensor, faces: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """raster: a UVRaster (uvspace.atlas.uv_support(...).raster); vertices (B, V, 3) metres, on the
    CPU; faces (F, 3). -> positions (B, S, S, 3) metres and unit normals (B, S, S, 3), both
    interpolated from the vertices over each texel's face (zero outside the charts)."""
    both = world_to_uv(raster, torch.cat([vertices, vertex_normals(vertices, faces)], -1))   # one pass
    return both[..., :3].contiguous(), Fn.normalize(both[..., 3:], dim=-1, eps=1e-8)
