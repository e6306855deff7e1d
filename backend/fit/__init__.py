"""Coarse fitting by analysis-by-synthesis with the project's renderer."""
from .coarse import CoarseFit, FitSettings, Observation, fit_coarse

__all__ = ["CoarseFit", "FitSettings", "Observation", "fit_coarse"]
