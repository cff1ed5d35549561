"""Grey copies: a copy with no colour left, made from a member that has colour.

Turning a photo grey ("black and white" in every editor) removes what no rule can put back,
yet the grey copy keeps the photo's size and tones, so keep-best's other rules may not tell it
from the original (both "least edited" against the others by the same grey levels).

The other way round, a colourised copy of a black-and-white photo, is far rarer in a photo
library. File times cannot tell the two apart (copying a folder rewrites them in name order);
the EXIF can: a grey file with more EXIF fields than the colour one is the camera's (a
black-and-white mode) and is not taken for a copy.
"""

from __future__ import annotations

import logging
import os
from typing import Callable, Sequence

import numpy as np

from mgdesk.core.imaging import ImageLoadError, load_image

log = logging.getLogger(__name__)

#: the cache key of a stored measure
COLOUR_VERSION = "colour-2"
#: a pixel's colour is the spread between its largest and smallest channel, in grey levels.
#: A photo is grey when nine pixels in ten have none (grey JPEGs and PNGs measure 0; a coloured
#: caption or logo on it is no colour of the photo's), and it has colour when half its pixels
#: spread at least COLOURED (the dullest colour photos of the shared sets, misty city views,
#: have a median of 2-3)
GREY = 1.0
COLOURED = 2.0
_SIDE = 256  # the measure needs no detail: a reduced decode is enough


def colour_spread(path: str | os.PathLike[str]) -> tuple[float, float] | None:
    """The median and 90th percentile of the photo's channel spread (both 0 for a grey photo),
    or None when it cannot be read now."""
    try:
        loaded = load_image(path, max_side=_SIDE)
    except ImageLoadError as exc:
        log.debug("no colour measure for %s: %s", path, exc)
        return None
    except MemoryError:
        return None
    rgb = np.asarray(loaded.image.convert("RGB"), dtype=np.int16)
    median, high = np.percentile(rgb.max(axis=2) - rgb.min(axis=2), [50, 90])
    return float(median), float(high)


def grey_copies(spreads: Sequence[Sequence[float] | None], exif_fields: Sequence[int] | None = None
                ) -> dict[int, int]:
    """{index of a grey member: index of a colour member with no fewer EXIF fields}.

    ``spreads``: colour_spread of each member, None for one not to compare (unreadable, or
    framed: a screenshot's window has colours of its own)."""
    exif = exif_fields or [0] * len(spreads)
    coloured = [j for j, s in enumerate(spreads) if s is not None and s[0] >= COLOURED]
    found: dict[int, int] = {}
    for i, s in enumerate(spreads):
        if s is None or s[1] > GREY:
            continue
        source = next((j for j in coloured if exif[j] >= exif[i]), None)
        if source is not None:
            found[i] = source
    return found


def grey_copies_of(paths: Sequence[str], exif_fields: Sequence[int] | None = None,
                   spread: Callable[[int], Sequence[float] | None] | None = None) -> dict[int, int]:
    """grey_copies of files (``spread(i)`` measures member i; injectable to keep answers)."""
    measure = spread or (lambda i: colour_spread(paths[i]))
    return grey_copies([measure(i) for i in range(len(paths))], exif_fields)


__all__ = ["COLOURED", "COLOUR_VERSION", "GREY", "colour_spread", "grey_copies", "grey_copies_of"]
