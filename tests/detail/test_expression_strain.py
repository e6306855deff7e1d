"""Where the photo's expression compresses the skin: zero for the neutral head and for a rigid
motion of it, full for a head shrunk all over, around the mouth for a smile and not on the
forehead; the static map leaves the relief out there."""
import math

import numpy as np
import torch

from headsmith.detail.expression_strain import expression_compression, principal_stretches
from headsmith.render import default_light


def _region_texels(model, name, size):
    from headsmith.render import interpolate
    from headsmith.uvspace import uv_support

    raster = uv_support(model, size).raster
    r = model.vertex_regions[model.region_names.index(name)].cpu()[None, :, None]
    return (interpolate(raster.fragments, model.faces.cpu(), r)[0, ..., 0] > 0.5) & raster.mask


def test_principal_stretches_of_a_known_deformation():
    faces = torch.tensor([[0, 1, 2]])
    rest = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]], dtype=torch.float64)
    posed = rest * torch.tensor([0.7, 1.2, 1.0], dtype=torch.float64)   # x shortened 30 %, y stretched 20 %
    s = principal_stretches(faces, rest, posed)
    assert torch.allclose(s, torch.tensor([[1.2, 0.7]], dtype=torch.float64))


def test_no_compression_at_rest_or_for_a_rigid_motion(openhead):
    v = openhead().vertices
    assert expression_compression(openhead, v, v, 128).abs().max() == 0
    a = math.radians(30)
    rot = torch.tensor([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    moved = v @ rot.T + torch.tensor([0.1, -0.05, 0.3])
    assert expression_compression(openhead, v, moved, 128).max() < 1e-3


def test_a_shrunk_head_is_compressed_everywhere(openhead):
    v = openhead().vertices
    c = expression_compression(openhead, v, 0.8 * v, 128)
    face = _region_texels(openhead, "face", 128)
    assert c[face].min() > 0.99


def test_a_smile_compresses_around_the_mouth_not_the_forehead(openhead):
    m = openhead
    e = torch.zeros(1, m.n_expression)
    for name in ("mouthSmileLeft", "mouthSmileRight", "cheekSquintLeft", "cheekSquintRight"):
        e[0, m.expression_names.index(name)] = 1.0
    rest, smile = m().vertices, m(expression=e).vertices
    c = expression_compression(m, rest, smile, 256)
    assert c[_region_texels(m, "cheeks", 256)].mean() > 0.3
    assert c[_region_texels(m, "forehead", 256)].mean() < 0.05


def test_the_static_map_leaves_a_smiles_relief_out(openhead):
    """Shape from shading of a photo whose mesh smiles (its skin grain read as relief): the
    residual at rest is left out where the smile compresses the skin, and kept elsewhere."""
    from headsmith.detail.person import fit_person_detail
    from headsmith.wrinkles.texture_decoder import load_openhead_decoder

    m = openhead
    e = torch.zeros(1, m.n_expression)
    e[0, m.expression_names.index("mouthSmileLeft")] = e[0, m.expression_names.index("mouthSmileRight")] = 1.0
    rest, smile = m().vertices, m(expression=e).vertices
    S = 256
    rng = np.random.default_rng(0)
    albedo = np.clip(0.45 * (1 + 0.15 * rng.standard_normal((S, S, 1))), 0, 1).repeat(3, 2).astype(np.float32)
    face = _region_texels(m, "face", S)
    net = load_openhead_decoder(n_expression=m.n_expression)
    pd = fit_person_detail(m, net, rest, smile, default_light(), albedo, face.float().numpy(), e, torch.zeros(1, 3),
                           size=S, texture_size=S, iterations=40)
    c = expression_compression(m, rest, smile, S).numpy()
    squeezed, free = (c >= 1) & face.numpy(), (c == 0) & face.numpy()
    assert squeezed.sum() > 200 and free.sum() > 500
    assert np.abs(pd.residual[squeezed]).max() == 0
    assert np.abs(pd.residual[free]).mean() > 1e-6
