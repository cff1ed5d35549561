"""Lossless re-saves: a PNG or lossless WebP holding a lossy file's pixels is told from a lossless
original next to its best-quality JPEG."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from PIL import Image

from mgdesk.core.resave import is_lossless, lossless_resaves, same_pixels

CAMERA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "formats" / "camera" / "jpg" / "gps"


@pytest.fixture
def camera_jpeg(tmp_path) -> Path:
    src = CAMERA / "DSCN0010.jpg"
    if not src.exists():
        pytest.skip("shared camera photos not available")
    return Path(shutil.copy2(src, tmp_path / "DSCN0010.jpg"))


def test_each_format_is_known_as_lossless_or_lossy(tmp_path, camera_jpeg):
    with Image.open(camera_jpeg) as im:
        im = im.convert("RGB")
        im.save(tmp_path / "a.png")
        im.save(tmp_path / "lzw.tif", compression="tiff_lzw")
        im.save(tmp_path / "jpeg.tif", compression="jpeg")
        im.save(tmp_path / "lossless.webp", lossless=True)
        im.save(tmp_path / "lossy.webp", quality=90)
    assert is_lossless(camera_jpeg) is False
    assert [is_lossless(tmp_path / n) for n in ("a.png", "lzw.tif", "lossless.webp")] == [True] * 3
    assert is_lossless(tmp_path / "jpeg.tif") is False and is_lossless(tmp_path / "lossy.webp") is False
    assert is_lossless(tmp_path / "missing.png", "PNG") is True  # the store's format answers
    assert is_lossless(tmp_path / "lossy.webp", "WEBP") is False  # WebP comes both ways: it looks
    if hasattr(os, "mkfifo"):  # read as every file is: a FIFO is no image, and no hang
        os.mkfifo(tmp_path / "pipe.tif")
        assert is_lossless(tmp_path / "pipe.tif") is None and is_lossless(tmp_path / "pipe.tif", "TIFF") is None
    (tmp_path / "junk.png").write_bytes(b"not an image")
    assert is_lossless(tmp_path / "junk.png") is None


def test_a_png_or_lossless_webp_made_from_a_jpeg_holds_its_pixels(tmp_path, camera_jpeg):
    with Image.open(camera_jpeg) as im:
        im.save(tmp_path / "converted.png")
        im.save(tmp_path / "converted.webp", lossless=True)
    paths = [str(tmp_path / "converted.png"), str(camera_jpeg), str(tmp_path / "converted.webp")]
    sizes = [Image.open(p).size for p in paths]
    assert lossless_resaves(paths, sizes) == {0: 1, 2: 1}
    assert lossless_resaves(paths, sizes, ["PNG", "JPEG", "WEBP"]) == {0: 1, 2: 1}


def test_a_lossless_original_is_not_a_re_save_of_its_best_jpeg(tmp_path, camera_jpeg):
    # a JPEG at quality 100 without chroma subsampling is as near as a lossy copy comes
    with Image.open(camera_jpeg) as im:
        original = im.convert("RGB").reduce(2)  # averaging leaves no trace of the camera's JPEG
    original.save(tmp_path / "original.png")
    original.save(tmp_path / "best.jpg", quality=100, subsampling=0)
    paths = [str(tmp_path / "original.png"), str(tmp_path / "best.jpg")]
    assert not same_pixels(*paths)
    assert lossless_resaves(paths, [original.size] * 2) == {}


def test_a_lossless_file_older_than_the_jpeg_is_its_original_whatever_the_pixels(tmp_path):
    # a flat screenshot survives a quality-100 JPEG to the level: the pixels cannot tell which
    # came first, the file times can (and files without times are still compared)
    shot = Image.new("RGB", (320, 200), (240, 240, 240))
    shot.paste((30, 90, 200), (20, 20, 300, 60))
    shot.save(tmp_path / "screenshot.png")
    shot.save(tmp_path / "export.jpg", quality=100, subsampling=0)
    paths = [str(tmp_path / "screenshot.png"), str(tmp_path / "export.jpg")]
    assert same_pixels(*paths)
    assert lossless_resaves(paths, [shot.size] * 2, modified=[1000.0, 2000.0]) == {}
    assert lossless_resaves(paths, [shot.size] * 2, modified=[2000.0, 1000.0]) == {0: 1}


def test_a_lossless_webp_is_known_past_a_large_colour_profile(tmp_path, camera_jpeg):
    with Image.open(camera_jpeg) as im:
        im.convert("RGB").save(tmp_path / "icc.webp", lossless=True, icc_profile=b"\0" * 70_000)
        im.convert("RGB").save(tmp_path / "icc_lossy.webp", quality=80, icc_profile=b"\0" * 70_000)
    assert is_lossless(tmp_path / "icc.webp") is True
    assert is_lossless(tmp_path / "icc_lossy.webp") is False


def test_pixels_are_compared_upright(tmp_path, camera_jpeg):
    # a JPEG stored sideways with an EXIF orientation tag, converted by a tool that applied it
    with Image.open(camera_jpeg) as im:
        exif = im.getexif()
        exif[0x0112] = 6
        im.rotate(90, expand=True).save(tmp_path / "sideways.jpg", quality=90, exif=exif)
    with Image.open(tmp_path / "sideways.jpg") as im:
        from PIL import ImageOps
        ImageOps.exif_transpose(im).save(tmp_path / "upright.png")
    assert same_pixels(tmp_path / "upright.png", tmp_path / "sideways.jpg")
