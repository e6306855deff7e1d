"""Detail: the static person-specific displacement map (shape from shading) and, later, the
expression-dependent wrinkle decoder."""
from .static import StaticDetail, fit_static_detail

__all__ = ["StaticDetail", "fit_static_detail"]
