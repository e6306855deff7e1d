"""Test data made by code for the detail tests: the face's texels of a UV map, and the neutral
OpenHead with known relief (ridges across the face) under a light from the side, as an unwrap
would see it."""
import numpy as np
import torch
import torch.nn.functional as Fn

from headsmith.render import (default_light, displacement_to_normal, interpolate, rasterize_uv, sh_shading,
                              vertex_normals, world_to_uv)


def face_texels(m, S: int):
    """-> (the face region's texels (S, S) bool tensor, those inside the layout's charts as a
    numpy array) of m's UV map at S texels per side."""
    lay = m.uv_layout
    raster = rasterize_uv(lay.uv, lay.faces, m.faces, S)
    face = interpolate(raster.fragments, m.faces,
                       m.vertex_regions[m.region_names.index("face")][None, :, None])[0, ..., 0] > 0.5
    return face, (face & raster.mask).numpy()


def side_lit_ridges(m, S: int, period_m: float, amplitude_m: float):
    """The neutral head at S texels with ridges across the face (a sinusoid in the world x
    coordinate) under a light from the side, as an unwrap would see them: -> (vertices, light,
    albedo (S, S, 3) = grey x the ridges' shading over the smooth surface's, face (S, S) bool,
    face texels of the layout (S, S) bool, the true displacement (S, S) metres)."""
    lay = m.uv_layout
    raster = rasterize_uv(lay.uv, lay.faces, m.faces, S)
    v = m().vertices
    P = world_to_uv(raster, v)
    N = Fn.normalize(world_to_uv(raster, vertex_normals(v, m.faces)), dim=-1, eps=1e-8)
    face = interpolate(raster.fragments, m.faces,
                       m.vertex_regions[m.region_names.index("face")][None, :, None])[0, ..., 0] > 0.5
    D_true = (amplitude_m * torch.sin(P[0, ..., 0] * 2 * np.pi / period_m) * face)[None]
    light = default_light()
    light[0, 1] = 0.8   # light from the side so the ridges shade
    shade_true = sh_shading(displacement_to_normal(P, N, D_true, raster.mask), light)
    albedo = (0.5 * shade_true / sh_shading(N, light).clamp(min=1e-3))[0]
    return v, light, albedo, face, face & raster.mask, D_true[0]
