"""The local reconstruction service (`headsmith serve`): FastAPI on loopback with a per-launch token."""
from .app import ServiceSettings, create_app

__all__ = ["ServiceSettings", "create_app"]
