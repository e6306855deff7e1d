"""Where the photo's expression compresses the skin.

Creases that a photo shows where its expression squeezes the skin (a smile's nasolabial fold and
the arcs around the mouth, a squint's crow's feet, a frown's lines) belong to that expression, not
to the face at rest: kept in the static map they stay on the neutral head and on every other
expression. The static map therefore leaves out the shape-from-shading relief in proportion to
the compression there; the decoder's dynamic part draws the expression's wrinkles when the rig
makes it.

Compression is measured per triangle as the smaller principal stretch of the deformation from the
fitted neutral mesh to the mesh as posed in the photo (the same shape with the photo's expression
and jaw): 1 where the skin keeps its size, below 1 where it is shortened in some direction.
Rigid motion (the head's pose) leaves it at 1.
"""
from __future__ import annotations

import torch

from ..headmodel import HeadModel
from ..texture.fill import weighted_blur
from ..uvspace import uv_support

# shortening (1 - smaller principal stretch) where leaving out starts and where it is complete:
# a few % is fitting noise and the neck's bend; a smile shortens the skin around the mouth far
# more (figures: benchmarks/NOTES.md, "Static detail")
COMPRESSION_START, COMPRESSION_FULL = 0.03, 0.15
SPREAD_TEXELS_AT_256 = 2.0   # blur of the per-triangle map: no facet edges in the static map


def principal_stretches(faces: torch.Tensor, rest: torch.Tensor, posed: torch.Tensor) -> torch.Tensor:
    """faces (F, 3) long; rest, posed (V, 3) metres, the same mesh in two states.
    -> (F, 2): per triangle, the larger and the smaller principal stretch (posed length over rest
    length along the principal directions in the triangle's plane)."""
    a, b, c = (rest[faces[:, i]] for i in range(3))
    e1, e2 = b - a, c - a
    u = torch.nn.functional.normalize(e1, dim=-1, eps=1e-12)
    n = torch.nn.functional.normalize(torch.cross(e1, e2, dim=-1), dim=-1, eps=1e-12)
    w = torch.cross(n, u, dim=-1)
    # rest edges in the triangle's own 2D frame, as the columns of a 2x2 matrix
    rest_2d = torch.stack([torch.stack([(e1 * u).sum(-1), (e1 * w).sum(-1)], -1),
                           torch.stack([(e2 * u).sum(-1), (e2 * w).sum(-1)], -1)], -1)
    A, B, C = (posed[faces[:, i]] for i in range(3))
    posed_edges = torch.stack([B - A, C - A], -1)                                  # (F, 3, 2)
    det = torch.linalg.det(rest_2d)
    ok = det.abs() > 1e-14                                                         # degenerate triangles: no strain
    eye = torch.eye(2, dtype=rest_2d.dtype).expand_as(rest_2d)
    deformation = posed_edges @ torch.linalg.inv(torch.where(ok[:, None, None], rest_2d, eye))
    s = torch.linalg.svdvals(deformation)
    return torch.where(ok[:, None], s, torch.ones_like(s))


def expression_compression(model: HeadModel, rest_vertices: torch.Tensor, posed_vertices: torch.Tensor,
                           size: int) -> torch.Tensor:
    """rest_vertices, posed_vertices (1, V, 3) metres (the fitted neutral head and the head as
    posed in the photo). -> (S, S) in [0, 1] on the model's UV layout: 0 where the photo's
    expression leaves the skin its size, 1 where it shortens it by COMPRESSION_FULL or more."""
    faces = model.faces.cpu()
    stretch = principal_stretches(faces, rest_vertices[0].detach().double().cpu(),
                                  posed_vertices[0].detach().double().cpu())
    shortening = 1 - stretch[:, 1]
    per_face = ((shortening - COMPRESSION_START) / (COMPRESSION_FULL - COMPRESSION_START)).clamp(0, 1).float()
    raster = uv_support(model, size).raster
    face_index = raster.fragments.face_index[0]
    texels = torch.where(face_index >= 0, per_face[face_index.clamp(min=0)], torch.zeros(()))
    spread = SPREAD_TEXELS_AT_256 * size / 256
    blurred = weighted_blur(texels[..., None], raster.mask.float(), spread)[..., 0]   # charts' edges keep their value
    return (blurred * raster.mask).clamp(0, 1)
