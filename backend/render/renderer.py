"""The one renderer interface: mesh + camera + (texture or colours) + SH light -> image.

Everything in plain torch, so it runs on CPU and CUDA and is differentiable with respect to
vertices, texture, vertex colours, light and camera (through the barycentrics; see rasterize.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as Fn

from .camera import OrthographicCamera, PerspectiveCamera
from .rasterize import Fragments, interpolate_pixels, rasterize, scatter_pixels, visible_pixels
from .shading import sh_shading, vertex_normals


@dataclass
class RenderOutput:
    """Images are (B, H, W, C) float, linear [0, 1]-ish, pixel rows top to bottom."""

    image: torch.Tensor        # shaded colour (B, H, W, 3)
    albedo: torch.Tensor       # unshaded colour (B, H, W, 3)
    shading: torch.Tensor      # irradiance (B, H, W, 3)
    normals: torch.Tensor      # world-space unit normals (B, H, W, 3)
    alpha: torch.Tensor        # coverage (B, H, W, 1)
    screen: torch.Tensor       # projected vertices (B, V, 3): u px, v px, depth
    fragments: Fragments


@dataclass
class PixelShading:
    """The shaded values at a pixel list only (`fragments.pixels`, flat into B*H*W, batch
    `fragments.pixel_batch`): what an optimizer compares with a photo, without the background.
    Colours linear, normals world-space unit, all (N, 3)."""

    image: torch.Tensor
    albedo: torch.Tensor
    shading: torch.Tensor
    normals: torch.Tensor
    screen: torch.Tensor       # projected vertices (B, V, 3): u px, v px, depth
    fragments: Fragments


def sample_texture(texture: torch.Tensor, uv: torch.Tensor) -> torch.Tensor:
    """texture (B, C, S, S) with row 0 at v = 1; uv (B, H, W, 2) in [0, 1] -> (B, H, W, C)."""
    grid = torch.stack([uv[..., 0] * 2 - 1, 1 - uv[..., 1] * 2], dim=-1)
    out = Fn.grid_sample(texture, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return out.permute(0, 2, 3, 1)


class MeshRenderer:
    """Renders triangle meshes of one topology.

    faces: (F, 3) counter-clockwise vertex indices. uv (T, 2) and uv_faces (F, 3): per-corner
    texture coordinates, needed only for textured renders.
    """

    def __init__(self, faces: torch.Tensor, uv: torch.Tensor | None = None,
                 uv_faces: torch.Tensor | None = None):
        self.faces = faces.long()
        self.uv = uv
        self.uv_faces = uv_faces.long() if uv_faces is not None else None

    def to(self, device) -> "MeshRenderer":
        return MeshRenderer(self.faces.to(device),
                            None if self.uv is None else self.uv.to(device),
                            None if self.uv_faces is None else self.uv_faces.to(device))

    @torch.no_grad()
    def visibility(self, vertices: torch.Tensor, camera: OrthographicCamera | PerspectiveCamera,
                   image_size: tuple[int, int], cull_backfaces: bool = True) -> Fragments:
        """The z-buffer pass alone: the face per pixel and the covered-pixel list (no
        barycentrics), to keep for `shade_pixels(visibility=...)`, whole or cut to a subset."""
        H, W = image_size
        return visible_pixels(camera.project(vertices, H, W), self.faces, H, W,
                              perspective_correct=camera.is_perspective, cull_backfaces=cull_backfaces)

    def shade_pixels(self, vertices: torch.Tensor, camera: OrthographicCamera | PerspectiveCamera,
                     image_size: tuple[int, int], light: torch.Tensor | None = None,
                     texture: torch.Tensor | None = None, vertex_colors: torch.Tensor | None = None,
                     cull_backfaces: bool = True, visibility: Fragments | None = None,
                     dense: bool = False) -> PixelShading:
        """Like `render`, at the covered pixels only (or at the pixels of `visibility`'s list)."""
        H, W = image_size
        B = vertices.shape[0]
        screen = camera.project(vertices, H, W)
        frags = rasterize(screen, self.faces, H, W, perspective_correct=camera.is_perspective,
                          cull_backfaces=cull_backfaces, visibility=visibility, dense=dense)
        normals = vertex_normals(vertices, self.faces)
        pix_n = Fn.normalize(interpolate_pixels(frags, self.faces, normals), dim=-1, eps=1e-12)
        N = pix_n.shape[0]
        if texture is not None:
            if self.uv is None:
                raise ValueError("a textured render needs the mesh's uv and uv_faces")
            pix_uv = interpolate_pixels(frags, self.uv_faces, self.uv[None].to(vertices.dtype))
            albedo = _sample_at_pixels(texture, pix_uv, frags.pixel_batch)
        elif vertex_colors is not None:
            albedo = interpolate_pixels(frags, self.faces, vertex_colors)
        else:
            albedo = torch.full((N, 3), 0.7, dtype=vertices.dtype, device=vertices.device)
        if light is not None:                # each pixel lit by its own photo's light (B, 9, 3)
            shading = sh_shading(pix_n[None], light)[0] if B == 1 else \
                sh_shading(pix_n[:, None], light[frags.pixel_batch])[:, 0]
        else:
            shading = torch.ones_like(albedo)
        return PixelShading(albedo * shading, albedo, shading, pix_n, screen, frags)

    def render(self, vertices: torch.Tensor, camera: OrthographicCamera | PerspectiveCamera,
               image_size: tuple[int, int], light: torch.Tensor | None = None,
               texture: torch.Tensor | None = None, vertex_colors: torch.Tensor | None = None,
               background: torch.Tensor | float = 0.0, cull_backfaces: bool = True,
               visibility: Fragments | None = None) -> RenderOutput:
        """vertices (B, V, 3) world metres; light (B, 9, 3) SH or None for unlit;
        texture (B, 3, S, S) or vertex_colors (B, V, 3); neither gives uniform grey albedo.
        visibility: an earlier render's fragments (same mesh and size) whose face per pixel is
        kept, skipping the z-buffer pass (see rasterize)."""
        px = self.shade_pixels(vertices, camera, image_size, light=light, texture=texture,
                               vertex_colors=vertex_colors, cull_backfaces=cull_backfaces,
                               visibility=visibility, dense=True)
        frags = px.fragments
        # coverage = the pixels shaded (all covered ones, or a kept visibility's list)
        alpha = scatter_pixels(frags, px.image.new_ones(px.image.shape[0], 1))
        image = scatter_pixels(frags, px.image)
        bg = torch.as_tensor(background, dtype=image.dtype, device=image.device)
        image = image + bg * (1 - alpha)
        return RenderOutput(image, scatter_pixels(frags, px.albedo), scatter_pixels(frags, px.shading),
                            scatter_pixels(frags, px.normals), alpha, px.screen, frags)


def _sample_at_pixels(texture: torch.Tensor, uv: torch.Tensor, batch: torch.Tensor) -> torch.Tensor:
    """texture (B or 1, C, S, S), uv (N, 2) of pixels in photo `batch` (N,) -> (N, C)."""
    if texture.shape[0] == 1:
        return sample_texture(texture, uv[None, None])[0, 0]
    out = uv.new_zeros(uv.shape[0], texture.shape[1])
    for b in range(texture.shape[0]):
        sel = torch.nonzero(batch == b).squeeze(1)
        out = out.index_copy(0, sel, sample_texture(texture[b:b + 1], uv[sel][None, None])[0, 0])
    return out
