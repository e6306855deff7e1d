"""Untrusted photos: every bad kind of file gets a clear ImageLoadError; odd formats become RGB."""

import numpy as np
import pytest
from PIL import Image

from headsmith.imageio import ImageLoadError, load_photo


def _save(tmp_path, img, name, **kw):
    p = tmp_path / name
    img.save(p, **kw)
    return p


@pytest.fixture
def rgb():
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8))


def test_plain_rgb(tmp_path, rgb):
    out = load_photo(_save(tmp_path, rgb, "a.png"))
    assert out.rgb.shape == (120, 160, 3) and out.rgb.dtype == np.uint8
    assert np.array_equal(out.rgb, np.asarray(rgb))


@pytest.mark.parametrize("mode", ["L", "CMYK", "RGBA", "P", "I;16"])
def test_modes_become_rgb8(tmp_path, rgb, mode):
    if mode == "I;16":
        a = (np.asarray(rgb.convert("L"), dtype=np.uint16) * 257)
        img = Image.fromarray(a)
        assert img.mode.startswith("I")
        name, fmt = "x.png", {}
    elif mode == "CMYK":
        img, name, fmt = rgb.convert("CMYK"), "x.jpg", {}
    else:
        img, name, fmt = rgb.convert(mode), "x.png", {}
    out = load_photo(_save(tmp_path, img, name, **fmt))
    assert out.rgb.shape == (120, 160, 3) and out.rgb.dtype == np.uint8
    if mode in ("L", "I;16"):
        ref = np.asarray(rgb.convert("L")).astype(int)
        assert np.abs(out.rgb[..., 0].astype(int) - ref).max() <= 1


def test_exif_rotation_is_applied(tmp_path, rgb):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 clockwise on display
    p = _save(tmp_path, rgb, "r.jpg", exif=exif.tobytes(), quality=95)
    out = load_photo(p)
    assert out.rgb.shape == (160, 120, 3)
    assert out.exif_transposed


def test_truncated_file(tmp_path, rgb):
    p = _save(tmp_path, rgb, "t.jpg", quality=95)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageLoadError, match="damaged or truncated"):
        load_photo(p)


def test_not_an_image_and_empty_and_missing(tmp_path):
    p = tmp_path / "notes.png"
    p.write_text("this is not a picture")
    with pytest.raises(ImageLoadError, match="not an image"):
        load_photo(p)
    e = tmp_path / "empty.jpg"
    e.write_bytes(b"")
    with pytest.raises(ImageLoadError, match="empty"):
        load_photo(e)
    with pytest.raises(ImageLoadError, match="no such file"):
        load_photo(tmp_path / "absent.jpg")


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    p = _save(tmp_path, Image.new("1", (9000, 6000)), "bomb.png")
    assert p.stat().st_size < 200_000          # tiny file, 54 megapixels
    with pytest.raises(ImageLoadError, match="megapixels"):
        load_photo(p)


def test_too_small(tmp_path):
    p = _save(tmp_path, Image.new("RGB", (40, 30)), "tiny.png")
    with pytest.raises(ImageLoadError, match="too small"):
        load_photo(p)


def test_a_folder_given_as_the_photo_says_so(tmp_path):
    with pytest.raises(ImageLoadError, match="is a folder"):
        load_photo(tmp_path)


def test_an_animated_image_uses_its_first_frame_and_says_so(tmp_path, rgb):
    second = Image.fromarray(255 - np.asarray(rgb))
    p = tmp_path / "a.gif"
    rgb.save(p, save_all=True, append_images=[second, rgb], duration=100)
    out = load_photo(p)
    assert out.frames == 3 and "first frame" in out.note and "3 frames" in out.note
    first = np.asarray(Image.open(p).convert("RGB"))
    assert np.array_equal(out.rgb, first)
    assert load_photo(_save(tmp_path, rgb, "still.png")).note is None
