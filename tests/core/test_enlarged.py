"""Enlarged copies: more pixels, no more detail than the photo they were made from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from mgdesk.core.enlarged import (MAX_DETAIL, MAX_UNPREDICTED, detail_beyond_of, enlargements,
                                  unpredicted_detail)

PHOTOS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "photos"


@pytest.fixture
def photo() -> Image.Image:
    if not PHOTOS.exists():
        pytest.skip("shared photos not available")
    with Image.open(PHOTOS / "urban100_img_001.jpg") as im:
        return im.convert("RGB")


def _gray(im: Image.Image) -> np.ndarray:
    return np.asarray(im.convert("L"), dtype=np.float32)


@pytest.mark.parametrize("resample", [Image.Resampling.BICUBIC, Image.Resampling.LANCZOS,
                                      Image.Resampling.BILINEAR])
def test_a_photo_enlarged_twice_has_no_detail_beyond_its_source_and_the_photo_has(photo, resample):
    enlarged = photo.resize((photo.width * 2, photo.height * 2), resample)
    assert detail_beyond_of(_gray(enlarged), 2.0) < MAX_DETAIL
    assert detail_beyond_of(_gray(photo), 2.0) > 2 * MAX_DETAIL


def test_a_flat_or_tiny_image_cannot_tell():
    assert detail_beyond_of(np.full((400, 400), 128, np.float32), 2.0) is None
    assert detail_beyond_of(np.random.default_rng(0).random((40, 40), np.float32) * 255, 2.0) is None


def test_the_nearest_smaller_member_decides_and_only_a_copy_not_written_first_counts():
    measured = []

    def detail(i, j, ratio):
        measured.append((i, j, round(ratio, 2)))
        return 0.05 if i == 0 else 1.0  # member 0 is the enlargement

    pixels = [4_000_000, 1_000_000, 62_500]  # 2x, the photo, a thumbnail
    assert enlargements(["big", "photo", "thumb"], pixels, [20.0, 10.0, 30.0], detail) == {0: 1}
    assert measured == [(0, 1, 2.0)]  # not against the thumbnail; the photo was written before it
    # written before the photo, or with more of the camera's EXIF: nothing says it came second
    assert enlargements(["big", "photo", "thumb"], pixels, [5.0, 10.0, 30.0], detail) == {}
    assert enlargements(["big", "photo", "thumb"], pixels, None, detail, [30, 2, 0]) == {}


def test_members_of_nearly_one_size_are_not_measured():
    def detail(i, j, ratio):
        raise AssertionError("measured")

    assert enlargements(["a", "b"], [1_000_000, 800_000], None, detail) == {}
    assert enlargements(["framed", "b"], [0.0, 250_000], None, detail) == {}


def _instagram_square(photo: Image.Image, side: int) -> Image.Image:
    """The whole photo in a square, the rest filled with a blurred enlargement of it (as apps make
    them for Instagram), at `side` px."""
    s = max(photo.size)
    cover = photo.resize((s * photo.width // min(photo.size), s * photo.height // min(photo.size)))
    left, top = (cover.width - s) // 2, (cover.height - s) // 2
    square = cover.crop((left, top, left + s, top + s)).filter(ImageFilter.GaussianBlur(s / 30))
    square.paste(photo, ((s - photo.width) // 2, (s - photo.height) // 2))
    return square.resize((side, side), Image.Resampling.LANCZOS)


def test_a_square_with_a_blurred_fill_is_known_enlarged_from_the_photo_it_shows(photo, tmp_path):
    # 1.6x, below what the octave test can tell, and a fill whose edge is sharp detail
    photo.save(tmp_path / "photo.jpg", quality=92)
    _instagram_square(photo, round(1.6 * max(photo.size))).save(tmp_path / "square.jpg", quality=85)
    assert unpredicted_detail(tmp_path / "square.jpg", tmp_path / "photo.jpg") < MAX_UNPREDICTED


def test_a_photo_is_not_predicted_by_its_smaller_copy(photo, tmp_path):
    photo.save(tmp_path / "photo.jpg", quality=92)
    photo.resize((photo.width * 7 // 10, photo.height * 7 // 10), Image.Resampling.LANCZOS).save(
        tmp_path / "smaller.jpg", quality=85)
    assert unpredicted_detail(tmp_path / "photo.jpg", tmp_path / "smaller.jpg") > MAX_UNPREDICTED


def test_below_twice_the_size_and_inside_a_frame_the_smaller_member_is_the_reference():
    asked = []

    def detail(i, j, ratio):
        raise AssertionError("the octave test cannot tell these")

    def predicted(i, j):
        asked.append((i, j))
        return 0.1

    pixels = [1_690_000, 1_000_000]  # 1.3x
    assert enlargements(["big", "photo"], pixels, None, detail, None, None, predicted) == {0: 1}
    framed = [True, False]  # a square whose photo is 3x the other's, inside a fill
    assert enlargements(["square", "photo"], [9_000_000, 1_000_000], None, detail, None, framed, predicted) == {0: 1}
    assert asked == [(0, 1), (0, 1)]


def test_a_crop_at_the_photo_s_own_scale_predicts_nothing_about_the_photo(photo, tmp_path):
    # the photo has far more pixels than its crop, but shows the crop at one scale: not enlarged
    photo.save(tmp_path / "photo.jpg", quality=92)
    photo.crop((0, 0, photo.width // 2, photo.height // 2)).save(tmp_path / "crop.jpg", quality=90)
    assert unpredicted_detail(tmp_path / "photo.jpg", tmp_path / "crop.jpg") is None
