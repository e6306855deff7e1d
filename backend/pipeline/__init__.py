"""Photo(s) -> avatar bundle: the reconstruction pipeline behind `headsmith reconstruct`."""
from .reconstruct import ReconstructionError, ReconstructSettings, ReconstructResult, reconstruct

__all__ = ["ReconstructionError", "ReconstructSettings", "ReconstructResult", "reconstruct"]
