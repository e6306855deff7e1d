"""Reading untrusted photos safely into RGB uint8 arrays."""
from .load import ImageLoadError, LoadedImage, load_photo

__all__ = ["ImageLoadError", "LoadedImage", "load_photo"]
