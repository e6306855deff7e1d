"""The optimizer the pipeline's fits use (coarse fit, static and person detail)."""
from .adam import Adam

__all__ = ["Adam"]
