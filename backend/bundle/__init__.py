"""The avatar bundle: a versioned folder the Blender add-on and game exports read."""
from .obj import write_obj
from .write import BUNDLE_SCHEMA_VERSION, AvatarBundle, read_bundle, write_bundle

__all__ = ["BUNDLE_SCHEMA_VERSION", "AvatarBundle", "read_bundle", "write_bundle", "write_obj"]
