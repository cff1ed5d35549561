"""Enlarged copies: more pixels, no more detail than the photo they were made from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mgdesk.core.enlarged import MAX_DETAIL, detail_beyond_of, enlargements

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
