"""The project's differentiable renderer (plain torch, CPU and CUDA). Use `MeshRenderer`."""
from .camera import OrthographicCamera, PerspectiveCamera, look_at_perspective
from .rasterize import Fragments, interpolate, rasterize
from .renderer import MeshRenderer, RenderOutput, sample_texture
from .shading import default_light, face_normals, sh_basis, sh_shading, vertex_normals
from .uv import (GradientFrame, UVRaster, displacement_to_normal, displacement_to_tangent_normal, rasterize_uv,
                 surface_gradient, world_to_uv)

__all__ = [
    "OrthographicCamera", "PerspectiveCamera", "look_at_perspective", "Fragments", "interpolate",
    "rasterize", "MeshRenderer", "RenderOutput", "sample_texture", "default_light", "face_normals",
    "sh_basis", "sh_shading", "vertex_normals", "GradientFrame", "UVRaster", "displacement_to_normal",
    "displacement_to_tangent_normal", "rasterize_uv", "surface_gradient", "world_to_uv",
]
