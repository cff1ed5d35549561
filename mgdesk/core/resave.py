"""Lossless re-saves: a PNG (TIFF, BMP, lossless WebP) that holds exactly the pixels a lossy
copy (JPEG, HEIC, lossy WebP) decodes to.

Such a file was made from the lossy one: a lossy encoder never reproduces its input exactly
(a JPEG at quality 100 without chroma subsampling still leaves 2-3 % of the values off by more
than one level), so pixels that match to the level can only come from decoding it. The re-save
holds nothing the lossy file lacks, usually without its camera metadata, in a file several
times larger; keep-best must not keep it for being the bigger file or the "better" format.
"""

from __future__ import annotations

import logging
import os
from typing import Callable, Sequence

import numpy as np
from PIL import Image

from mgdesk.core.imaging import ImageLoadError, load_image

log = logging.getLogger(__name__)

_LOSSLESS = frozenset({"PNG", "BMP", "DIB", "GIF"})
_LOSSY = frozenset({"JPEG", "MPO", "HEIF", "HEIC", "AVIF"})
_LOSSY_TIFF = frozenset({"jpeg", "tiff_jpeg", "webp", "jpeg2000"})
#: share of pixel values within one grey level of the lossy file's decode. Another decoder (a
#: different IDCT) moves a few values by one level; a JPEG at quality 100 / 4:4:4 reaches only
#: 0.97-0.98 on the shared photos, so a lossless original is never taken for a re-save of it
SAME_PIXELS = 0.995
_BAND = 256  # rows compared at a time


def is_lossless(path: str | os.PathLike[str], fmt: str | None = None) -> bool | None:
    """True for a losslessly stored image, False for a lossy one, None when unknown.

    ``fmt`` (the store's format name) answers without opening the file, except for TIFF and
    WebP, which come both ways."""
    fmt = (fmt or "").upper()
    if fmt in _LOSSLESS:
        return True
    if fmt in _LOSSY:
        return False
    try:
        with Image.open(path) as im:
            fmt = (im.format or "").upper()
            compression = str(im.info.get("compression", "")).lower()
    except Exception:  # noqa: BLE001 - unreadable: say nothing about it
        return None
    if fmt in _LOSSLESS:
        return True
    if fmt in _LOSSY:
        return False
    if fmt == "TIFF":
        return compression not in _LOSSY_TIFF
    if fmt == "WEBP":
        try:
            with open(path, "rb") as fp:
                head = fp.read(4096)
        except OSError:
            return None
        return b"VP8L" in head and b"VP8 " not in head
    return None


def same_pixels(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether two files decode (upright) to the same pixels, to within a decoder's rounding."""
    try:
        pa = np.asarray(load_image(a).image)
        pb = np.asarray(load_image(b).image)
    except ImageLoadError as exc:
        log.warning("cannot compare pixels: %s", exc)
        return False
    if pa.shape != pb.shape:
        return False
    near = 0
    for top in range(0, pa.shape[0], _BAND):  # in bands: a 50 MP photo needs no extra gigabytes
        diff = pa[top:top + _BAND].astype(np.int16) - pb[top:top + _BAND]
        near += int(np.count_nonzero(np.abs(diff) <= 1))
    return near >= SAME_PIXELS * pa.size


def lossless_resaves(paths: Sequence[str], sizes: Sequence[tuple[int, int]],
                     formats: Sequence[str | None] | None = None,
                     same: Callable[[str, str], bool] = same_pixels) -> dict[int, int]:
    """{index of a re-save: index of the lossy file whose pixels it holds} among one group.

    Only members shown at the same size are compared (one full decode each), so a group pays
    nothing unless it mixes lossless and lossy files of one size.
    """
    formats = formats or [None] * len(paths)
    one_format = {(f or "").upper() for f in formats}
    if len(paths) < 2 or (len(one_format) == 1 and one_format <= _LOSSLESS | _LOSSY):
        return {}  # all PNG or all JPEG: nothing to compare
    kinds = [is_lossless(p, f) if w and h else None for p, (w, h), f in zip(paths, sizes, formats)]
    found: dict[int, int] = {}
    for i, lossless in enumerate(kinds):
        if not lossless:
            continue
        for j, other in enumerate(kinds):
            if other is False and sizes[j] == sizes[i] and same(paths[i], paths[j]):
                found[i] = j
                break
    return found


__all__ = ["SAME_PIXELS", "is_lossless", "lossless_resaves", "same_pixels"]
