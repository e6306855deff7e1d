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
