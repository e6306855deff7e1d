"""The skin's roughness map: skin is not one gloss. The T-zone (the middle of the forehead and
the nose) is oilier and shinier, the lips and eyelids smoother, the cheeks, neck and ears
matte. Values are Principled BSDF / glTF perceptual roughness, set per face region of the head
model and blended by its soft region masks; a model without regions gets SKIN_ROUGHNESS (how
the values were set: benchmarks/NOTES.md).

The map is written as glTF's packed occlusion-roughness-metallic layout (R occlusion = 1, G
roughness, B metallic = 0), so one file serves Blender (Separate Color -> G) and engines.
"""
from __future__ import annotations

import numpy as np
import torch

from ..headmodel import HeadModel
from ..render import interpolate
from ..uvspace import uv_support
from .fill import gaussian_blur, push_pull_fill

ROUGHNESS_SIZE = 256        # texels per side: the map is smooth (the detail stage rasterizes this size)
SKIN_ROUGHNESS = 0.58       # skin outside every named region (and every skin texel of a model without)
REGION_ROUGHNESS = {        # region -> roughness where its mask is 1
    "nose": 0.50, "mouth": 0.45, "eyes": 0.50, "cheeks": 0.60, "chin": 0.56,
    "neck": 0.62, "ears": 0.58, "scalp": 0.52,
}
FOREHEAD_ROUGHNESS = (0.50, 0.56)   # the forehead at its midline (T-zone) and at its sides
T_ZONE_HALF_WIDTH_M = 0.03          # Gaussian half-width of the forehead's shiny middle, metres


def vertex_roughness(model: HeadModel) -> torch.Tensor:
    """(V,) roughness per vertex of the neutral template (model frame, x across the face)."""
    names = model.region_names
    x = model.v_template[:, 0].float().cpu()
    targets, masks = [], []
    for name, value in REGION_ROUGHNESS.items():
        if name in names:
            targets.append(torch.full_like(x, value))
            masks.append(model.vertex_regions[names.index(name)].float().cpu())
    if "forehead" in names:
        mid, side = FOREHEAD_ROUGHNESS
        targets.append(side + (mid - side) * torch.exp(-(x / T_ZONE_HALF_WIDTH_M) ** 2))
        masks.append(model.vertex_regions[names.index("forehead")].float().cpu())
    r = torch.full_like(x, SKIN_ROUGHNESS)
    if masks:
        m = torch.stack(masks)
        m = m / m.sum(0, keepdim=True).clamp(min=1.0)         # overlapping masks share a texel
        r = r + (m * (torch.stack(targets) - SKIN_ROUGHNESS)).sum(0)
    return r


def roughness_map(model: HeadModel, size: int = ROUGHNESS_SIZE) -> np.ndarray:
    """(size, size, 3) uint8 occlusion-roughness-metallic map in the model's UV layout (row 0 at
    v = 1), defined past the charts' borders so mipmaps do not bleed."""
    raster = uv_support(model, size).raster
    r = interpolate(raster.fragments, model.faces.cpu(), vertex_roughness(model)[None, :, None])[0]
    inside = (raster.fragments.face_index[0] >= 0).float()
    r = push_pull_fill(r, inside)
    r = gaussian_blur(r, 1.0)[..., 0]
    orm = torch.stack([torch.ones_like(r), r, torch.zeros_like(r)], -1)
    return np.clip(orm.numpy() * 255 + 0.5, 0, 255).astype(np.uint8)
