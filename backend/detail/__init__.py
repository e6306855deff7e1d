"""Detail: the static person-specific displacement map (shape from shading) and the person
detail fit that finds the decoder's code and residual with the decoder in the loop."""
from .static import StaticDetail, fit_static_detail

__all__ = ["StaticDetail", "fit_static_detail"]
