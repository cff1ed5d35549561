"""Enlarged copies: a copy scaled up from a smaller member of its group.

An upscale ("enlarge", "2x" in an editor or a messenger's "HD") has more pixels than its source
but no more detail: everything finer than the source's pixels is interpolated. Keep-best's
"largest resolution" would keep it and suggest removing the photo it was made from.

Below 2x (and for a copy whose photo sits inside a frame or a fill, such as an Instagram square
with a blurred background, whose edges would count as detail) the octave test cannot tell: 1.5x
enlargements measure like photos. There the smaller member itself is the reference: enlarged into
the larger one's frame (through the verifier's alignment, refined by ECC), it predicts nearly all
of an enlargement's fine detail and much less of a photo's over a smaller copy of it: see
unpredicted_detail and `python bench/enlargements.py --predict 15` (30 photos: a photo over its
0.7x copy leaves 0.43-1.03 unexplained; a 1.43x Lanczos enlargement under MAX_UNPREDICTED in 21
of 30 (median 0.18-0.24), the rest not aligned closely enough to tell, which counts as a photo).

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

#: linear size ratio from which the octave test tells an enlargement by itself; below it, it
#: cannot tell one from a photo (1.25x bicubic measures 0.12-0.43, 1.5x 0.11-0.43)
OCTAVE_RATIO = 2.0
#: detail above the smaller member's resolution, as a share of the octave below it, under which
#: a photo counts as enlarged from it: under the 265 photos of bench/enlargements.py (lowest
#: 0.147), above most 2x and 3x enlargements (bicubic at quality 90: 92-100 % under)
MAX_DETAIL = 0.14
#: the cache key of a stored measure (the measure, not the threshold: a new window asks again)
DETAIL_VERSION = "detail-1"
#: from this linear ratio up (below OCTAVE_RATIO, or framed) the smaller member predicts the
#: larger one (unpredicted_detail). Closer in size a photo's detail is mostly predicted by its
#: smaller copy too: over a 0.95x copy it leaves 0.20-0.38 unexplained, over a 0.85x one
#: 0.28-0.51, against 0.43 and up over a 0.7x one
MIN_PREDICT_RATIO = 1.3
#: the share of its fine detail an enlargement leaves unexplained, at most
MAX_UNPREDICTED = 0.3
PREDICTED_VERSION = "predicted-3"
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


def unpredicted_detail(larger: str | os.PathLike[str], smaller: str | os.PathLike[str]) -> float | None:
    """The share of the larger photo's fine detail that the smaller one, enlarged into its frame,
    does not predict (0: all of it, an enlargement; about 1: none of it); None when the two cannot
    be aligned as copies now (unreadable, or not verified as one capture), or when the smaller one
    is not shown enlarged in the larger (a crop of it at its own scale).

    Fine detail is what a Gaussian of 0.6 x the scale between them removes, measured where the
    smaller one lands in the larger (a frame or fill around it does not count)."""
    from mgdesk.core.verify import PairVerifier, pixel_map
    verifier = PairVerifier()
    try:
        fl, fs = verifier.features(larger), verifier.features(smaller)
        gl = np.asarray(load_image(larger).image.convert("L"), dtype=np.float32)
        gs = np.asarray(load_image(smaller).image.convert("L"), dtype=np.float32)
    except (ImageLoadError, MemoryError) as exc:
        log.debug("no prediction of %s from %s: %s", larger, smaller, exc)
        return None
    verdict = verifier.verify(fs, fl)
    H = pixel_map(verdict, fs, fl) if verdict.is_copy else None
    if H is None:
        return None
    to_l = np.diag([gl.shape[1] / fl.width, gl.shape[0] / fl.height, 1.0])
    from_s = np.diag([fs.width / gs.shape[1], fs.height / gs.shape[0], 1.0])
    M = to_l @ H @ from_s  # the smaller one's pixels to the larger one's
    scale = math.sqrt(abs(np.linalg.det(M[:2, :2])))
    if scale < MIN_PREDICT_RATIO:  # at about one scale (a crop): the larger one shows more, not larger
        return None
    # at most a _WINDOW square of the larger one, in the middle of where the smaller one lands
    # (as detail_beyond measures): an enlargement is enlarged everywhere, and a 48 MP photo
    # would otherwise cost seconds and a gigabyte
    corners = np.float32([[0, 0], [gs.shape[1], 0], [gs.shape[1], gs.shape[0]], [0, gs.shape[0]]])
    lands = cv2.perspectiveTransform(corners[None], M)[0]
    (x0, y0), (x1, y1) = np.maximum(lands.min(axis=0), 0), np.minimum(lands.max(axis=0), gl.shape[::-1])
    left, top = (int(max(0.0, (a + b - _WINDOW) / 2)) for a, b in ((x0, x1), (y0, y1)))
    gl = gl[top:top + _WINDOW, left:left + _WINDOW]
    M = np.array([[1.0, 0.0, -left], [0.0, 1.0, -top], [0.0, 0.0, 1.0]]) @ M
    h, w = gl.shape
    predicted = cv2.warpPerspective(gs, M, (w, h), flags=cv2.INTER_CUBIC)
    valid = cv2.warpPerspective(np.ones_like(gs, dtype=np.uint8), M, (w, h), flags=cv2.INTER_NEAREST)
    valid = cv2.erode(valid, np.ones((15, 15), np.uint8))
    if valid.sum() < 64 * 64:
        return None
    try:  # the alignment at the verifier's working size is a fraction of a pixel off at this one
        warp = np.eye(2, 3, dtype=np.float32)
        _, warp = cv2.findTransformECC(cv2.GaussianBlur(gl, (0, 0), 1.0), cv2.GaussianBlur(predicted, (0, 0), 1.0),
                                       warp, cv2.MOTION_AFFINE,
                                       (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 50, 1e-5), valid, 5)
        predicted = cv2.warpAffine(predicted, warp, (w, h), flags=cv2.INTER_CUBIC + cv2.WARP_INVERSE_MAP)
    except cv2.error:  # no convergence: the coarser alignment stands (it can only leave more unexplained)
        pass
    sigma = 0.6 * max(scale, 1.0)
    fine = gl - cv2.GaussianBlur(gl, (0, 0), sigma)
    left = gl - predicted
    left = left - cv2.GaussianBlur(left, (0, 0), sigma)
    m = valid > 0
    energy = float(np.mean(fine[m] ** 2))
    if energy < _FLAT:
        return None
    return float(np.mean(left[m] ** 2)) / energy


def _reduced_and_back(g: np.ndarray, scale: float) -> np.ndarray:
    h, w = g.shape
    small = cv2.resize(g, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def enlargements(paths: Sequence[str], pixels: Sequence[float],
                 modified: Sequence[float | None] | None = None,
                 detail: Callable[[int, int, float], float | None] | None = None,
                 exif_fields: Sequence[int] | None = None,
                 framed: Sequence[bool] | None = None,
                 predicted: Callable[[int, int], float | None] | None = None) -> dict[int, int]:
    """{index of an enlarged member: index of the smaller member it was enlarged from}.

    ``pixels``: each member's photo pixels (0 for a member not to test, such as a re-save);
    ``modified`` and ``exif_fields``: file times and EXIF field counts, where known;
    ``detail(i, j, ratio)``: detail_beyond of member i at its ratio to member j, and
    ``predicted(i, j)``: unpredicted_detail of i from j (both injectable so the caller can keep
    answers). ``framed`` members (a frame or fill around the photo) are told by prediction only.
    Each member is tested against the smaller members from the nearest size down, and only where
    it is at least MIN_PREDICT_RATIO larger, so a group of one size decodes nothing.
    """
    modified = modified or [None] * len(paths)
    exif = exif_fields or [0] * len(paths)
    framed = framed or [False] * len(paths)
    if detail is None:
        def detail(i: int, j: int, ratio: float) -> float | None:
            return detail_beyond(paths[i], ratio)
    if predicted is None:
        def predicted(i: int, j: int) -> float | None:
            return unpredicted_detail(paths[i], paths[j])
    found: dict[int, int] = {}
    # largest first; of one size, the likeliest source first (the camera's file, the oldest)
    by_size = sorted(range(len(paths)), key=lambda k: (-pixels[k], -exif[k], modified[k] or 0.0))
    for i in (k for k in by_size if pixels[k] > 0):
        for j in by_size:
            if pixels[j] <= 0 or i == j:
                continue
            ratio = math.sqrt(pixels[i] / pixels[j])
            if ratio < MIN_PREDICT_RATIO:
                continue
            mi, mj = modified[i], modified[j]
            if (mi is not None and mj is not None and mi < mj) or exif[i] > exif[j]:
                continue  # written before the smaller one, or more of a camera's file: not made from it
            if not framed[i] and ratio >= OCTAVE_RATIO:  # the octave test tells these by the photo alone
                q = detail(i, j, ratio)
                enlarged = q is not None and q < MAX_DETAIL
            else:
                q = predicted(i, j)
                enlarged = q is not None and q < MAX_UNPREDICTED
            if enlarged:
                found[i] = j
            break  # the nearest smaller member decides: a thumbnail far below says nothing
    return found


__all__ = ["DETAIL_VERSION", "MAX_DETAIL", "MAX_UNPREDICTED", "MIN_PREDICT_RATIO", "OCTAVE_RATIO", "PREDICTED_VERSION",
           "detail_beyond", "detail_beyond_of", "enlargements", "unpredicted_detail"]
