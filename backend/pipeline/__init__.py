"""Photo(s) -> avatar bundle: settings, the stages in memory, and the bundle written in one pass."""
from .avatar_bundle import ReconstructResult, rebake_bundle, reconstruct
from .settings import ReconstructionError, ReconstructSettings, check_settings

__all__ = ["ReconstructionError", "ReconstructSettings", "ReconstructResult", "check_settings", "reconstruct",
           "rebake_bundle"]
