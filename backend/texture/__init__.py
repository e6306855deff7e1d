"""Albedo texture: photos unwrapped into the model's UV layout, de-lit and completed."""
from .unwrap import TextureResult, UVSupport, unwrap_albedo, uv_support
from .fill import push_pull_fill

__all__ = ["TextureResult", "UVSupport", "unwrap_albedo", "uv_support", "push_pull_fill"]
