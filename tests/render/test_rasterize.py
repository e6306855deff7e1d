import math

import numpy as np
import pytest
import torch

from headsmith.render import (Fragments, MeshRenderer, OrthographicCamera, interpolate,
                              look_at_perspective, rasterize, sample_texture, sh_shading)
from tests.conftest import uv_sphere


def _inside_reference(tri: np.ndarray, H: int, W: int) -> np.ndarray:
    """Independent point-in-triangle test on pixel centres (half-plane signs, float64)."""
    ys, xs = np.mgrid[0:H, 0:W] + 0.5
    (ax, ay), (bx, by), (cx, cy) = tri

    def side(px, py, qx, qy):
        return (qx - px) * (ys - py) - (qy - py) * (xs - px)

    s1, s2, s3 = side(ax, ay, bx, by), side(bx, by, cx, cy), side(cx, cy, ax, ay)
    return ((s1 >= 0) & (s2 >= 0) & (s3 >= 0)) | ((s1 <= 0) & (s2 <= 0) & (s3 <= 0))


def test_triangle_coverage_matches_analytic_pixel_centres():
    H, W = 64, 80
    tri = np.array([[10.3, 5.7], [70.1, 20.2], [25.6, 58.9]])
    screen = torch.tensor(np.c_[tri, np.ones(3)][None])
    frags = rasterize(screen, torch.tensor([[0, 1, 2]]), H, W)
    ref = _inside_reference(tri, H, W)
    assert (frags.mask[0].numpy() == ref).all()
    area = 0.5 * abs(np.cross(tri[1] - tri[0], tri[2] - tri[0]))
    assert abs(ref.sum() - area) / area < 0.02
    # barycentrics reproduce the pixel centre
    ys, xs = np.nonzero(ref)
    b = frags.bary[0, ys, xs].numpy()
    pos = b @ tri
    assert np.allclose(pos, np.c_[xs + 0.5, ys + 0.5], atol=1e-9)


def test_sphere_silhouette_area_orthographic():
    v, f = uv_sphere(64)
    s = 0.7
    cam = OrthographicCamera(torch.tensor([[s, 0.0, 0.0]], dtype=torch.float64))
    H = W = 256
    frags = rasterize(cam.project(v[None], H, W), f, H, W, cull_backfaces=True)
    r_px = s * W / 2
    expected = math.pi * r_px ** 2
    assert abs(frags.mask.sum().item() - expected) / expected < 0.01
    # the visible hemisphere faces the camera: interpolated z > 0 everywhere
    z = interpolate(frags, f, v[None])[..., 2][frags.mask]
    assert (z > -1e-6).all()


def test_zbuffer_keeps_the_nearest_surface():
    # two overlapping squares at different depths; the nearer (larger z) must win
    quad = torch.tensor([[-0.5, -0.5, 0], [0.5, -0.5, 0], [0.5, 0.5, 0], [-0.5, 0.5, 0]], dtype=torch.float64)
    v = torch.cat([quad + torch.tensor([0, 0, 0.1]), quad * 0.6 + torch.tensor([0.2, 0, 0.3])])
    f = torch.tensor([[0, 1, 2], [0, 2, 3], [4, 5, 6], [4, 6, 7]])
    cam = OrthographicCamera(torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64))
    frags = rasterize(cam.project(v[None], 64, 64), f, 64, 64)
    z = interpolate(frags, f, v[None])[0, ..., 2]
    assert torch.isclose(z[32, 40], torch.tensor(0.3, dtype=torch.float64))
    assert torch.isclose(z[32, 20], torch.tensor(0.1, dtype=torch.float64))


@pytest.mark.parametrize("cull", [False, True])
def test_compiled_and_tensor_depth_tests_pick_the_same_faces(cull, monkeypatch):
    """The CPU's compiled scan (zscan_cpu) and the torch scan (any device) give the same face per
    pixel, ties at equal depth and shared edges included: a batch of two crumpled, self-overlapping
    spheres partly off screen, and coplanar copies of one triangle in both windings."""
    import importlib

    rast = importlib.import_module("headsmith.render.rasterize")
    if rast._compiled_scan() is None:
        pytest.skip("numba is not installed")
    v, f = uv_sphere(24)
    g = torch.Generator().manual_seed(3)
    v = torch.stack([v + 0.15 * torch.randn(v.shape, generator=g, dtype=v.dtype) for _ in range(2)])
    cam = OrthographicCamera(torch.tensor([[0.8, 0.3, 0.0], [1.1, -0.2, 0.4]], dtype=torch.float64))
    corners = [[2.5, 3.5, 1.0], [50.5, 3.5, 1.0], [2.5, 40.5, 1.0]]   # pixel centres on two edges
    tri = torch.tensor([(corners + corners[::-1]) * 2], dtype=torch.float64)   # both windings, twice
    scenes = [(cam.project(v, 96, 80), f, 96, 80), (tri, torch.arange(12).reshape(4, 3), 48, 64)]
    for screen, faces, H, W in scenes:
        compiled = rast._zbuffer(screen, faces, H, W, cull, False)
        monkeypatch.setattr(rast, "_SCAN", None)          # the torch scan
        tensors = rast._zbuffer(screen, faces, H, W, cull, False)
        monkeypatch.undo()
        assert (compiled >= 0).sum() > 0.05 * compiled.numel()
        assert torch.equal(compiled, tensors)


def test_perspective_sphere_silhouette_and_depth():
    v, f = uv_sphere(64, radius=0.1)
    H = 200
    cam = look_at_perspective(1.0, 30.0, H, dtype=torch.float64)
    frags = rasterize(cam.project(v[None], H, H), f, H, H, perspective_correct=True,
                      cull_backfaces=True)
    fpx = cam.focal.item()
    # silhouette of a sphere radius r at distance d: a circle of radius f * r / sqrt(d^2 - r^2)
    r_px = fpx * 0.1 / math.sqrt(1.0 - 0.01)
    expected = math.pi * r_px ** 2
    assert abs(frags.mask.sum().item() - expected) / expected < 0.015
    # nearest point is the pole at depth 0.9
    assert abs(frags.depth[frags.mask].min().item() - 0.9) < 2e-3


def test_gradients_match_finite_differences():
    """d(loss)/d(vertices) by autograd vs central differences, where the per-pixel face
    assignment does not change (the barycentric path, as pytorch3d at blur 0)."""
    torch.manual_seed(0)
    v, f = uv_sphere(12, radius=0.8)
    v = v + 0.02 * torch.randn_like(v)
    colors = torch.rand(1, v.shape[0], 3, dtype=torch.float64)
    cam = OrthographicCamera(torch.tensor([[1.0, 0.03, -0.02]], dtype=torch.float64))
    renderer = MeshRenderer(f)
    light = torch.zeros(1, 9, 3, dtype=torch.float64)
    light[:, 0], light[:, 3], light[:, 2] = 2.0, 0.8, 0.4
    weights = torch.rand(1, 48, 48, 3, dtype=torch.float64)

    def loss(verts):
        out = renderer.render(verts[None], cam, (48, 48), light=light, vertex_colors=colors)
        return (out.image * weights).sum(), out.fragments.face_index

    x = v.clone().requires_grad_(True)
    l0, faces0 = loss(x)
    l0.backward()
    g = x.grad
    eps = 1e-6
    checked = 0
    for vi in torch.randperm(v.shape[0])[:25]:
        for c in range(3):
            vp, vm = v.clone(), v.clone()
            vp[vi, c] += eps
            vm[vi, c] -= eps
            lp, fp = loss(vp)
            lm, fm = loss(vm)
            if not (torch.equal(fp, faces0) and torch.equal(fm, faces0)):
                continue
            fd = (lp - lm) / (2 * eps)
            assert abs(fd.item() - g[vi, c].item()) <= 1e-5 * max(1.0, abs(fd.item())), (vi, c)
            checked += 1
    assert checked >= 30
    assert g.abs().sum() > 0


def test_kept_visibility_reproduces_a_fresh_render_and_its_gradients():
    """A render that keeps an earlier render's faces per pixel (the photometric fit's shortcut)
    equals a fresh render of the same vertices, values and vertex gradients, wherever a moved
    mesh still covers each pixel with the same face; and a wrongly sized buffer is refused."""
    torch.manual_seed(1)
    v, f = uv_sphere(16, radius=0.8)
    colors = torch.rand(1, v.shape[0], 3, dtype=torch.float64)
    cam = OrthographicCamera(torch.tensor([[1.0, 0.02, -0.01]], dtype=torch.float64))
    light = torch.zeros(1, 9, 3, dtype=torch.float64)
    light[:, 0], light[:, 3] = 2.0, 0.7
    renderer = MeshRenderer(f)
    before = renderer.render(v[None], cam, (64, 64), light=light, vertex_colors=colors)
    # a sub-pixel move (0.3 px at this scale), as one optimizer step makes
    moved = v + torch.tensor([0.01, -0.005, 0.0], dtype=torch.float64)
    x_kept, x_fresh = moved.clone().requires_grad_(True), moved.clone().requires_grad_(True)
    kept = renderer.render(x_kept[None], cam, (64, 64), light=light, vertex_colors=colors,
                           visibility=before.fragments)
    fresh = renderer.render(x_fresh[None], cam, (64, 64), light=light, vertex_colors=colors)
    assert torch.equal(kept.fragments.face_index, before.fragments.face_index)
    same = (fresh.fragments.face_index == before.fragments.face_index) & fresh.fragments.mask
    changed = (fresh.fragments.face_index != before.fragments.face_index).sum().item()
    assert changed > 0                                  # the move did change some pixels' faces
    assert same.sum() > 0.6 * fresh.fragments.mask.sum()
    assert torch.allclose(kept.image[same], fresh.image[same], atol=1e-12)
    w = torch.rand(1, 64, 64, 3, dtype=torch.float64) * same[..., None]
    (kept.image * w).sum().backward()
    (fresh.image * w).sum().backward()
    assert x_fresh.grad.abs().sum() > 0
    assert torch.allclose(x_kept.grad, x_fresh.grad, atol=1e-10)
    with pytest.raises(ValueError, match="face_index"):
        renderer.render(moved[None], cam, (32, 32), light=light, visibility=before.fragments)


def test_shading_a_kept_subset_of_pixels_matches_the_render_there():
    """The photometric fit shades only the skin pixels of a z-buffer pass: `shade_pixels` on a
    cut-down pixel list gives the full render's values at exactly those pixels, for a batch of
    two photos with their own lights (a texture each, a shared one, vertex colours), and the same vertex
    gradients as the render restricted to them."""
    torch.manual_seed(2)
    v, f = uv_sphere(16, radius=0.8)
    B = 2
    uv = torch.rand(v.shape[0], 2, dtype=torch.float64)
    renderer = MeshRenderer(f, uv, f)
    texture = torch.rand(1, 3, 16, 16, dtype=torch.float64)
    colors = torch.rand(B, v.shape[0], 3, dtype=torch.float64)
    cam = OrthographicCamera(torch.tensor([[1.0, 0.02, -0.01], [0.9, -0.05, 0.03]], dtype=torch.float64))
    light = torch.zeros(B, 9, 3, dtype=torch.float64)
    light[:, 0] = torch.tensor([[2.0], [1.5]], dtype=torch.float64)
    light[0, 3], light[1, 1] = 0.7, -0.6
    verts = torch.stack([v, v * 1.05]).requires_grad_(True)
    vis = renderer.visibility(verts, cam, (48, 48))
    assert vis.bary is None and vis.depth is None         # no dense images from the z-buffer pass
    keep = torch.arange(0, vis.pixels.numel(), 3)          # every third covered pixel
    subset = Fragments(vis.face_index, None, None, vis.pixels[keep], vis.pixel_batch[keep])
    assert (subset.pixel_batch == 1).any() and (subset.pixel_batch == 0).any()
    per_photo = torch.rand(B, 3, 16, 16, dtype=torch.float64)
    for kw in (dict(texture=per_photo), dict(texture=texture), dict(vertex_colors=colors)):
        px = renderer.shade_pixels(verts, cam, (48, 48), light=light, visibility=subset, **kw)
        full = renderer.render(verts, cam, (48, 48), light=light, **kw)
        assert px.image.shape == (keep.numel(), 3)
        assert torch.allclose(px.image, full.image.reshape(-1, 3)[subset.pixels], atol=1e-12)
        # against the dense reference: each photo's own light, the texture sampled over the image
        at = lambda img: img.reshape(-1, img.shape[-1])[subset.pixels]  # noqa: E731
        assert torch.allclose(px.shading, at(sh_shading(full.normals, light)), atol=1e-12)
        if "texture" in kw:
            dense_uv = interpolate(full.fragments, f, uv[None])
            assert torch.allclose(px.albedo, at(sample_texture(kw["texture"].expand(B, -1, -1, -1), dense_uv)),
                                  atol=1e-12)
    # a render kept to the subset covers exactly those pixels (background elsewhere)
    cut = renderer.render(verts.detach(), cam, (48, 48), light=light, vertex_colors=colors,
                          visibility=subset, background=0.25)
    listed = torch.zeros(B * 48 * 48, dtype=torch.bool)
    listed[subset.pixels] = True
    assert torch.equal(cut.alpha.reshape(-1) > 0, listed)
    assert torch.all(cut.image.reshape(-1, 3)[~listed] == 0.25)
    w = torch.rand(keep.numel(), 3, dtype=torch.float64)
    g_px, = torch.autograd.grad((px.image * w).sum(), verts)
    full_w = torch.zeros(B * 48 * 48, 3, dtype=torch.float64).index_copy(0, subset.pixels, w)
    g_full, = torch.autograd.grad((full.image.reshape(-1, 3) * full_w).sum(), verts)
    assert g_full.abs().sum() > 0
    assert torch.allclose(g_px, g_full, atol=1e-10)


def test_cuda_matches_cpu_when_available():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device on this machine")
    v, f = uv_sphere(32)
    cam = OrthographicCamera(torch.tensor([[0.8, 0.0, 0.0]], dtype=torch.float64))
    a = rasterize(cam.project(v[None], 128, 128), f, 128, 128)
    camc = OrthographicCamera(cam.cam.cuda())
    b = rasterize(camc.project(v[None].cuda(), 128, 128), f.cuda(), 128, 128)
    assert torch.equal(a.face_index, b.face_index.cpu())
    assert torch.allclose(a.bary, b.bary.cpu(), atol=1e-9)
