"""Grey copies: a copy with no colour left is not the photo to keep."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from mgdesk.core.colour import colour_spread, grey_copies


def _save(tmp_path, name, array) -> str:
    path = tmp_path / name
    Image.fromarray(array).save(path, quality=90)
    return str(path)


def test_a_grey_photo_measures_no_colour_even_with_a_coloured_caption(tmp_path):
    rng = np.random.default_rng(1)
    colour = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
    grey = np.repeat(colour.mean(axis=2, keepdims=True).astype(np.uint8), 3, axis=2)
    captioned = Image.fromarray(grey)
    ImageDraw.Draw(captioned).rectangle((10, 100, 60, 112), fill=(220, 30, 30))
    assert colour_spread(_save(tmp_path, "colour.jpg", colour))[0] > 20
    assert colour_spread(_save(tmp_path, "grey.jpg", grey)) == (0.0, 0.0)
    assert colour_spread(_save(tmp_path, "captioned.jpg", np.asarray(captioned)))[1] <= 1.0
    assert colour_spread(tmp_path / "missing.jpg") is None


def test_a_grey_member_is_a_copy_of_a_colour_one_unless_it_has_more_of_the_cameras_exif():
    spreads = [(0.0, 0.0), (25.0, 60.0), (2.0, 5.0), (0.0, 0.5)]  # grey, colour, dull colour, grey
    assert grey_copies(spreads) == {0: 1, 3: 1}
    # a camera's black-and-white file (its EXIF) and a colourised export of it
    assert grey_copies([(0.0, 0.0), (25.0, 60.0)], [40, 3]) == {}
    # no colour member (every photo grey, or unreadable): nothing to say
    assert grey_copies([(0.0, 0.0), (0.0, 0.0), None]) == {}
