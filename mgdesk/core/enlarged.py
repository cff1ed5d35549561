"""Enlarged copies: a copy scaled up from a smaller member of its group.

An upscale ("enlarge", "2x" in an editor or a messenger's "HD") has more pixels than its source
but no more detail: everything finer than the source's pixels is interpolated. Keep-best's
"largest resolution" would keep it and suggest removing the photo it was made from.

An enlarged photo is measured by itself, at the ratio r of its size to a smaller member's: the
energy above 1/r of its frequency range (what reducing it to the smaller size and back loses),
against the energy of the octave just below (what reducing it to half that size loses on top).
A photo's detail falls off gradually from octave to octave, so the first is a sizeable part of
the second (0.15-2 for camera photos at r = 2, most above 0.3); an interpolated one has almost
nothing above its source's resolution (0.04-0.14 for bicubic, Lanczos and bilinear 2x). Both
measured by bench/enlargements.py.

The two overlap a little: a soft camera photo measures as low as 0.147 (the lowest of 51), and
1.5x enlargements measure 0.11-0.43, among photos. So MAX_DETAIL sits under every photo
measured, and a copy counts as enlarged only where nothing says it came first: it is not
written before the smaller member, nor does it carry more EXIF fields (a camera's file does, an
editor's export seldom).
"""

from __future__ import annotations

import logging
import math
import os
from typing import Callable, Sequence

import cv2
import numpy as np

from mgdesk.core.imaging import ImageLoadError, load_image

log = logging.getLogger(__name__)

#: linear size ratio below which an enlargement is not looked for: it would add little, and the
#: octave test cannot tell a small one from a photo (1.25x bicubic measures 0.12-0.43)
MIN_RATIO = 1.4
#: detail above the smaller member's resolution, as a share of the octave below it, under which
#: a photo counts as enlarged from it: under the 265 photos of bench/enlargements.py (lowest
#: 0.147), above most 2x and 3x enlargements (bicubic at quality 90: 92-100 % under)
MAX_DETAIL = 0.14
#: the cache key of a stored measure (the measure, not the threshold: a new window asks again)
DETAIL_VERSION = "detail-1"
#: the middle of the photo measured, at its own pixels (an enlargement is enlarged everywhere)
_WINDOW = 2048
_FLAT = 0.5  # mean squared grey levels in the octave below: nothing there to compare with


def detail_beyond(path: str | os.PathLike[str], ratio: float) -> float | None:
    """How much detail the photo at ``path`` has beyond 1/``ratio`` of its resolution, as a share
    of the octave below; None when it cannot be read now or is too flat or small to tell."""
    try:
        loaded = load_image(path)  # its own pixels: a reduced decode would erase the very detail
    except ImageLoadError as exc:
        log.debug("no detail measure for %s: %s", path, exc)
        return None
    except MemoryError:
        return None
    im = loaded.image
    left, top = max(0, (im.width - _WINDOW) // 2), max(0, (im.height - _WINDOW) // 2)
    window = im.crop((left, top, min(im.width, left + _WINDOW), min(im.height, top + _WINDOW)))
    return detail_beyond_of(np.asarray(window.convert("L"), dtype=np.float32), ratio)


def detail_beyond_of(gray: np.ndarray, ratio: float) -> float | None:
    """detail_beyond of a luminance array."""
    h, w = gray.shape[:2]
    top, left = max(0, (h - _WINDOW) // 2), max(0, (w - _WINDOW) // 2)
    g = gray[top:top + _WINDOW, left:left + _WINDOW].astype(np.float32)
    h, w = g.shape
    if min(h, w) / (2 * ratio) < 16:
        return None
    once = _reduced_and_back(g, 1 / ratio)
    twice = _reduced_and_back(g, 1 / (2 * ratio))
    below = float(np.mean((once - twice) ** 2))
    if below < _FLAT:
        return None
    return float(np.mean((g - once) ** 2)) / below


def _reduced_and_back(g: np.ndarray, scale: float) -> np.ndarray:
    h, w = g.shape
    small = cv2.resize(g, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def enlargements(paths: Sequence[str], pixels: Sequence[float],
                 modified: Sequence[float | None] | None = None,
                 detail: Callable[[int, int, float], float | None] | None = None,
                 exif_fields: Sequence[int] | None = None) -> dict[int, int]:
    """{index of an enlarged member: index of the smaller member it was enlarged from}.

    ``pixels``: each member's photo pixels (0 for a member not to test, such as a framed one);
    ``modified`` and ``exif_fields``: file times and EXIF field counts, where known;
    ``detail(i, j, ratio)``: detail_beyond of member i at its ratio to member j (injectable so
    the caller can keep answers). Each member is tested against the smaller members from the
    nearest size down, and only where it is at least MIN_RATIO larger, so a group of one size
    decodes nothing.
    """
    modified = modified or [None] * len(paths)
    exif = exif_fields or [0] * len(paths)
    if detail is None:
        def detail(i: int, j: int, ratio: float) -> float | None:
            return detail_beyond(paths[i], ratio)
    found: dict[int, int] = {}
    # largest first; of one size, the likeliest source first (the camera's file, the oldest)
    by_size = sorted(range(len(paths)), key=lambda k: (-pixels[k], -exif[k], modified[k] or 0.0))
    for i in (k for k in by_size if pixels[k] > 0):
        for j in by_size:
            if pixels[j] <= 0 or i == j:
                continue
            ratio = math.sqrt(pixels[i] / pixels[j])
            if ratio < MIN_RATIO:
                continue
            mi, mj = modified[i], modified[j]
            if (mi is not None and mj is not None and mi < mj) or exif[i] > exif[j]:
                continue  # written before the smaller one, or more of a camera's file: not made from it
            q = detail(i, j, ratio)
            if q is not None and q < MAX_DETAIL:
                found[i] = j
            break  # the nearest smaller member decides: a thumbnail far below says nothing
    return found


__all__ = ["DETAIL_VERSION", "MAX_DETAIL", "MIN_RATIO", "detail_beyond", "detail_beyond_of", "enlargements"]
