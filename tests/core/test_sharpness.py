"""The focus measure ranks frames of one view by blur, not by brightness, size or noise."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageFilter

from mgdesk.core.sharpness import focus_measure, focus_of

PHOTOS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "photos"


@pytest.fixture(scope="module")
def gray() -> Image.Image:
    if not PHOTOS.exists():
        pytest.skip("shared data not available")
    with Image.open(PHOTOS / "bsd100_img_001.jpg") as im:
        return im.convert("L")


def focus(im: Image.Image) -> float:
    value = focus_of(np.asarray(im, dtype=np.float32))
    assert value is not None
    return value


def test_a_blurred_frame_measures_far_below_the_sharp_one(gray):
    assert focus(gray.filter(ImageFilter.GaussianBlur(1.5))) < 0.5 * focus(gray)


def test_brightness_and_contrast_leave_the_measure_nearly_unchanged(gray):
    base = focus(gray)
    for edit in (ImageEnhance.Brightness(gray).enhance(1.3), ImageEnhance.Contrast(gray).enhance(1.3)):
        assert focus(edit) == pytest.approx(base, rel=0.1)


def test_a_small_copy_is_not_sharper_than_its_photo(gray):
    # measured at one size: the thumbnail is upscaled, and shows less
    small = gray.resize((gray.width // 3, gray.height // 3), Image.Resampling.LANCZOS)
    assert focus(small) < focus(gray)


def test_sensor_noise_does_not_pass_for_detail(gray):
    # a noisier frame of the same view stays within the tolerance that lets keep-best call two
    # frames equally sharp (without the slight blur it would not: 1.16x)
    from mgdesk.core.keepbest import SHARPNESS_TOLERANCE
    clean = np.asarray(gray, np.float32)
    noisy = np.clip(clean + np.random.default_rng(0).normal(0, 6, clean.shape), 0, 255)
    assert focus_of(noisy) < SHARPNESS_TOLERANCE * focus_of(clean)


def test_a_flat_or_unreadable_image_has_no_measure(tmp_path):
    assert focus_of(np.full((100, 100), 128, np.float32)) is None
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a jpeg")
    assert focus_measure(bad) is None
