"""Lossless re-saves: a PNG (TIFF, BMP, lossless WebP) that holds exactly the pixels a lossy
copy (JPEG, HEIC, lossy WebP) decodes to, and was written after it.

Such a file was made from the lossy one: a lossy encoder does not reproduce a photo exactly
(a JPEG at quality 100 without chroma subsampling still leaves 2-3 % of the values off by more
than one level), so pixels that match to the level come from decoding it. Flat graphics (a
screenshot) do survive a quality 99-100 JPEG to the level, and then the pixels cannot tell
which file came first; the file times can: a re-save is not older than its source. The re-save
holds nothing the lossy file lacks, usually without its camera metadata, in a file several
times larger; keep-best must not keep it for being the bigger file or the "better" format.
"""

from __future__ import annotations

import logging
import os
import struct
from typing import Callable, Sequence

import numpy as np
from PIL import Image

from mgdesk.core.imaging import ImageLoadError, load_image, read_info

log = logging.getLogger(__name__)

_LOSSLESS = frozenset({"PNG", "BMP", "DIB", "GIF"})
_LOSSY = frozenset({"JPEG", "MPO", "HEIF", "HEIC", "AVIF"})
_LOSSY_TIFF = frozenset({"jpeg", "tiff_jpeg", "webp", "jpeg2000"})
#: share of pixel values within one grey level of the lossy file's decode. Another decoder (a
#: different IDCT) moves a few values by one level; a JPEG at quality 100 / 4:4:4 of a photo
#: reaches only 0.97-0.98 on the shared photos
SAME_PIXELS = 0.995
#: the cache key of a stored answer: a new threshold asks again
RESAVE_VERSION = f"resave-{SAME_PIXELS}"
_BAND = 256  # rows compared at a time


def is_lossless(path: str | os.PathLike[str], fmt: str | None = None) -> bool | None:
    """True for a losslessly stored image, False for a lossy one, None when unknown.

    ``fmt`` (the store's format name) answers without opening the file, except for TIFF and
    WebP, which come both ways; the header is read as every file is (imaging.read_info: only
    the formats mgdesk opens, never a FIFO)."""
    fmt = (fmt or "").upper()
    if fmt not in _LOSSLESS | _LOSSY:
        try:
            fmt = read_info(path).format.upper()  # a regular file, of a format we open
        except ImageLoadError:
            return None
    if fmt in _LOSSLESS:
        return True
    if fmt in _LOSSY:
        return False
    if fmt == "TIFF":
        try:
            with Image.open(path, formats=["TIFF"]) as im:
                return str(im.info.get("compression", "")).lower() not in _LOSSY_TIFF
        except Exception:  # noqa: BLE001 - unreadable: say nothing about it
            return None
    if fmt == "WEBP":
        return _webp_lossless(path)
    return None


def _webp_lossless(path: str | os.PathLike[str]) -> bool | None:
    """Walk the RIFF chunks to the image data: VP8L is lossless, VP8 lossy (an ICC profile or
    EXIF may come first, at any length); animations and anything odd are unknown."""
    try:
        with open(path, "rb") as fp:
            head = fp.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:] != b"WEBP":
                return None
            for _ in range(64):
                chunk = fp.read(8)
                if len(chunk) < 8:
                    return None
                kind, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
                if kind == b"VP8L":
                    return True
                if kind == b"VP8 ":
                    return False
                if kind == b"ANMF":
                    return None
                fp.seek(size + (size & 1), os.SEEK_CUR)
    except OSError:
        return None
    return None


def same_pixels(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool | None:
    """Whether two files decode (upright) to the same pixels, to within a decoder's rounding;
    None when either cannot be read now (it may be later: a drive not mounted yet)."""
    try:
        pa = np.asarray(load_image(a).image)
        pb = np.asarray(load_image(b).image)
    except ImageLoadError as exc:
        log.warning("cannot compare pixels: %s", exc)
        return None
    except MemoryError:
        log.warning("cannot compare pixels of %s and %s: out of memory", a, b)
        return None
    if pa.shape != pb.shape:
        return False
    near = 0
    for top in range(0, pa.shape[0], _BAND):  # in bands: a 50 MP photo needs no extra gigabytes
        diff = pa[top:top + _BAND].astype(np.int16) - pb[top:top + _BAND]
        near += int(np.count_nonzero(np.abs(diff) <= 1))
    return near >= SAME_PIXELS * pa.size


def lossless_resaves(paths: Sequence[str], sizes: Sequence[tuple[int, int]],
                     formats: Sequence[str | None] | None = None,
                     modified: Sequence[float | None] | None = None,
                     same: Callable[[str, str], bool | None] = same_pixels) -> dict[int, int]:
    """{index of a re-save: index of the lossy file whose pixels it holds} among one group.

    Only a lossless member shown at the same size as a lossy one, and not written before it
    (``modified``: file times, when known), is compared (one full decode each), so a group
    pays nothing unless it mixes lossless and lossy files of one size.
    """
    formats = formats or [None] * len(paths)
    modified = modified or [None] * len(paths)
    one_format = {(f or "").upper() for f in formats}
    if len(paths) < 2 or (len(one_format) == 1 and one_format <= _LOSSLESS | _LOSSY):
        return {}  # all PNG or all JPEG: nothing to compare

    def not_older(i: int, j: int) -> bool:
        mi, mj = modified[i], modified[j]
        return mi is None or mj is None or mi >= mj

    kinds = [is_lossless(p, f) if w and h else None for p, (w, h), f in zip(paths, sizes, formats)]
    found: dict[int, int] = {}
    for i, lossless in enumerate(kinds):
        if not lossless:
            continue
        for j, other in enumerate(kinds):
            if other is False and sizes[j] == sizes[i] and not_older(i, j) and same(paths[i], paths[j]):
                found[i] = j
                break
    return found


__all__ = ["RESAVE_VERSION", "SAME_PIXELS", "is_lossless", "lossless_resaves", "same_pixels"]
