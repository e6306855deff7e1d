import math

import torch

from headsmith.render import MeshRenderer, OrthographicCamera, sh_basis, sh_shading
from headsmith.render.shading import SH_CONSTANTS, vertex_normals
from tests.conftest import uv_sphere


def test_sh_basis_of_known_normals():
    n = torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=torch.float64)
    h = sh_basis(n)
    c = SH_CONSTANTS
    assert math.isclose(c[0], 0.28209479177387814, rel_tol=1e-12)  # 1 / sqrt(4 pi)
    # +z normal: [1, 0, 0, 1, 0, 0, 0, 0, 2] * c
    expected = torch.tensor([c[0], 0, 0, c[3], 0, 0, 0, 0, 2 * c[8]], dtype=torch.float64)
    assert torch.allclose(h[0], expected)
    # +x normal: x^2 - y^2 = 1, 3z^2 - 1 = -1
    assert torch.allclose(h[1], torch.tensor([c[0], c[1], 0, 0, 0, 0, 0, c[7], -c[8]], dtype=torch.float64))


def test_rendered_sphere_under_a_directional_sh_light_is_analytic():
    """Light = ambient l0 + a +z band l3: irradiance(n) = c0*l0 + c3*l3*n_z, and on an
    orthographic sphere n_z = sqrt(1 - x^2 - y^2) at image point (x, y)."""
    v, f = uv_sphere(96)
    cam = OrthographicCamera(torch.tensor([[0.9, 0.0, 0.0]], dtype=torch.float64))
    light = torch.zeros(1, 9, 3, dtype=torch.float64)
    light[0, 0] = torch.tensor([1.0, 2.0, 3.0])
    light[0, 3] = torch.tensor([2.0, 1.0, 0.5])
    H = 128
    out = MeshRenderer(f).render(v[None], cam, (H, H), light=light, cull_backfaces=True)
    ys, xs = torch.meshgrid(torch.arange(H) + 0.5, torch.arange(H) + 0.5, indexing="ij")
    x = (xs / (H / 2) - 1) / 0.9
    y = (1 - ys / (H / 2)) / 0.9
    r2 = x ** 2 + y ** 2
    inner = r2 < 0.8  # away from the silhouette, where the facets' normals are accurate
    nz = torch.sqrt((1 - r2).clamp(min=0))
    c = SH_CONSTANTS
    expected = c[0] * light[0, 0][None, None] + c[3] * light[0, 3][None, None] * nz[..., None]
    err = (out.shading[0] - expected).abs()[inner]
    assert err.max() < 0.01 * expected[inner].abs().max()


def test_vertex_normals_of_a_sphere_point_outward():
    v, f = uv_sphere(24)
    n = vertex_normals(v[None], f)[0]
    radial = v / v.norm(dim=-1, keepdim=True)
    body = radial[:, 1].abs() < 0.9  # the rings next to the poles have sliver faces
    assert ((n * radial).sum(-1)[body] > 0.9995).all()
    assert ((n * radial).sum(-1) > 0.98).all()
    assert torch.allclose(sh_shading(n[None], torch.zeros(1, 9, 3, dtype=n.dtype)), torch.zeros(1, len(v), 3, dtype=n.dtype))


def test_sphere_directions_are_unit_and_even():
    from headsmith.render.shading import sphere_directions

    d = sphere_directions(256)
    assert torch.allclose(d.norm(dim=-1), torch.ones(256), atol=1e-6)
    assert d.mean(0).abs().max() < 0.01                      # no side favoured
    assert abs((d[:, 2] > 0).float().mean().item() - 0.5) < 0.01   # half face the camera


def test_light_implausibility_of_known_lights():
    """The default light is white and lights every normal: ~0 and 0. Its +x band in red only
    gives chroma and no darkness; a lone directional light with a weak ambient leaves the far
    side below a tenth of the ambient (SH-2 even dips below 0 there): darkness."""
    from headsmith.render import default_light
    from headsmith.render.shading import light_implausibility, sphere_directions

    dirs = sphere_directions()
    dark, chroma = light_implausibility(default_light(), dirs)
    assert dark.item() < 1e-5 and chroma.item() < 1e-9
    red = default_light()
    red[0, 1] = torch.tensor([0.3, 0.0, 0.0])
    dark, chroma = light_implausibility(red, dirs)
    assert dark.item() < 1e-4
    # the band's colour off grey: (0.3 - 0.1, -0.1, -0.1) over the ambient's 2.6, squared and summed
    assert math.isclose(chroma.item(), (0.2 ** 2 + 2 * 0.1 ** 2) / 2.6 ** 2, rel_tol=1e-4)
    key = torch.zeros(1, 9, 3)
    key[0, 0], key[0, 3] = 1.0, 2.0                          # ambient and a light from the camera
    dark, chroma = light_implausibility(key, dirs)
    assert dark.item() > 0.05 and chroma.item() < 1e-9
