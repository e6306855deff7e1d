"""Albedo texture: photos unwrapped into the model's UV layout, de-lit and completed."""
from .unwrap import TextureResult, unwrap_albedo
from .fill import push_pull_fill

__all__ = ["TextureResult", "unwrap_albedo", "push_pull_fill"]
