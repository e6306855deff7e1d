"""Photos are untrusted input: this is the one place they are decoded.

Limits: file size and pixel count are checked before full decoding (decompression bombs); EXIF
orientation is applied; grayscale, palette, CMYK, alpha and 16-bit images become 8-bit RGB
(alpha composited over mid grey). Every failure raises ImageLoadError with a message for the user.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_PIXELS = 40_000_000          # ~ an 8000 x 5000 photo
MIN_SIDE = 64


class ImageLoadError(ValueError):
    """The file is not a usable photo; str(e) says why and what to do."""


@dataclass
class LoadedImage:
    rgb: np.ndarray          # (H, W, 3) uint8, upright (EXIF orientation applied)
    path: str
    original_mode: str       # PIL mode before conversion, e.g. "RGB", "L", "CMYK", "I;16"
    exif_transposed: bool
    frames: int = 1          # an animated image's frame count (its first frame is the photo)

    @property
    def note(self) -> str | None:
        """What the user should know about how the file was read, or None."""
        if self.frames > 1:
            return f"{self.path}: an animated image of {self.frames} frames; its first frame was used"
        return None


def _to_rgb8(img) -> np.ndarray:
    from PIL import Image

    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        a = np.asarray(img, dtype=np.float64)
        hi = 65535.0 if mode.startswith("I;16") else max(float(a.max()), 1.0)
        g = np.clip(a / hi * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(g[..., None], 3, axis=2)
    if mode == "F":
        a = np.asarray(img, dtype=np.float64)
        g = np.clip(a / max(float(a.max()), 1e-6) * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(g[..., None], 3, axis=2)
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, (128, 128, 128, 255))
        return np.asarray(Image.alpha_composite(bg, rgba).convert("RGB"))
    return np.asarray(img.convert("RGB"))


def load_photo(path: str | Path, max_pixels: int = MAX_PIXELS,
               max_bytes: int = MAX_FILE_BYTES) -> LoadedImage:
    from PIL import Image, ImageOps, UnidentifiedImageError

    p = Path(path)
    if p.is_dir():
        raise ImageLoadError(f"{p}: is a folder; give the photo files in it (for example {p}/*.jpg)")
    if not p.is_file():
        raise ImageLoadError(f"{p}: no such file")
    size = p.stat().st_size
    if size == 0:
        raise ImageLoadError(f"{p}: the file is empty")
    if size > max_bytes:
        raise ImageLoadError(f"{p}: {size / 1e6:.0f} MB is over the {max_bytes / 1e6:.0f} MB limit; "
                             "export a smaller JPEG or PNG")
    try:
        with Image.open(p) as img:
            w, h = img.size
            if w * h > max_pixels:
                raise ImageLoadError(
                    f"{p}: {w}x{h} = {w * h / 1e6:.0f} megapixels is over the "
                    f"{max_pixels / 1e6:.0f} MP limit; downscale the photo")
            if min(w, h) < MIN_SIDE:
                raise ImageLoadError(f"{p}: {w}x{h} is too small; use a photo at least "
                                     f"{MIN_SIDE} px on each side")
            mode = img.mode
            frames = int(getattr(img, "n_frames", 1))
            img.load()  # full decode (of the first frame): truncated files fail here
            upright = ImageOps.exif_transpose(img)
            transposed = upright.size != img.size or upright is not img and _has_orientation(img)
            rgb = _to_rgb8(upright)
    except ImageLoadError:
        raise
    except UnidentifiedImageError as e:
        raise ImageLoadError(f"{p}: not an image file (or a format this tool cannot read); "
                             "use JPEG, PNG, TIFF, BMP or WebP") from e
    except Image.DecompressionBombError as e:
        raise ImageLoadError(f"{p}: refused as a decompression bomb ({e})") from e
    except (OSError, SyntaxError, ValueError) as e:
        raise ImageLoadError(f"{p}: the image is damaged or truncated ({e})") from e
    return LoadedImage(np.ascontiguousarray(rgb), str(p), mode, bool(transposed), frames)


def _has_orientation(img) -> bool:
    try:
        return int(img.getexif().get(0x0112, 1)) != 1
    except Exception:
        return False
