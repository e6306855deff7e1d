"""UV space: a head model's UV atlas (rasterised once per resolution) and surface maps in it."""
from .atlas import UVSupport, uv_support
from .surface import surface_maps

__all__ = ["UVSupport", "uv_support", "surface_maps"]
