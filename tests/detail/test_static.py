"""Shape from shading recovers a known displacement from the shading it causes."""
import numpy as np
import torch
import torch.nn.functional as Fn

from headsmith.detail import fit_static_detail
from headsmith.render import (default_light, displacement_to_normal, interpolate, rasterize_uv,
                              sh_shading, vertex_normals, world_to_uv)


def test_recovers_synthetic_bumps(openhead):
    m = openhead
    S = 256
    lay = m.uv_layout
    raster = rasterize_uv(lay.uv, lay.faces, m.faces, S)
    v = m().vertices
    P = world_to_uv(raster, v)
    N = Fn.normalize(world_to_uv(raster, vertex_normals(v, m.faces)), dim=-1, eps=1e-8)
    face = interpolate(raster.fragments, m.faces,
                       m.vertex_regions[m.region_names.index("face")][None, :, None])[0, ..., 0] > 0.5
    # ridges of +-0.6 mm across the face: a sinusoid in the world x coordinate
    D_true = (0.0006 * torch.sin(P[0, ..., 0] * 2 * np.pi / 0.02) * face)[None]
    light = default_light()
    light[0, 1] = 0.8   # light from the side so the ridges shade
    shade_true = sh_shading(displacement_to_normal(P, N, D_true, raster.mask), light)
    shade_coarse = sh_shading(N, light)
    albedo = (0.5 * shade_true / shade_coarse.clamp(min=1e-3))[0]
    observed = face.float()
    res = fit_static_detail(m, v, v, light, albedo.numpy(), observed.numpy(), size=S, texture_size=S,
                            iterations=150)
    d = torch.as_tensor(res.displacement)
    sel = face & raster.mask
    corr = np.corrcoef(d[sel].numpy(), D_true[0][sel].numpy())[0, 1]
    assert corr > 0.6, corr
    assert res.loss_end < 0.5 * res.loss_start
    # nothing appears away from what was observed (beyond a few texels of fade-out)
    from scipy.ndimage import binary_dilation
    near = torch.as_tensor(binary_dilation(sel.numpy(), iterations=8))
    assert d[~near].abs().max() < 1e-4
    assert res.normal_map.shape == (S, S, 3)
