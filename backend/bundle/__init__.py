"""The avatar bundle: a versioned folder the Blender add-on and game exports read."""
from .io import (BUNDLE_SCHEMA_VERSION, AvatarBundle, WrinkleFiles, read_bundle, read_detail_residual,
                 write_bundle, write_wrinkles)
from .schema import BundleError, check_bundle_meta, check_wrinkles_sidecar
from .obj import write_obj

__all__ = ["BUNDLE_SCHEMA_VERSION", "AvatarBundle", "BundleError", "WrinkleFiles", "check_bundle_meta", "check_wrinkles_sidecar",
           "read_bundle", "read_detail_residual",
           "write_bundle", "write_wrinkles", "write_obj"]
