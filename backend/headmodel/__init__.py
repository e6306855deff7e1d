"""Head models behind one interface (`HeadModel`): OpenHead (default, ships) and FLAME (user files)."""
from .base import HeadModel, HeadOutput, HeadPose, UVLayout
from .landmarks import LandmarkEmbedding
from .openhead import DEFAULT_ASSET, ModelFileError, OpenHead
from .factory import FLAME_FILE_KEYS, MODELS, load_head_model

__all__ = ["HeadModel", "HeadOutput", "HeadPose", "UVLayout", "LandmarkEmbedding", "OpenHead",
           "DEFAULT_ASSET", "ModelFileError", "FLAME_FILE_KEYS", "MODELS", "load_head_model"]
