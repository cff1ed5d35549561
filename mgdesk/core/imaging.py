"""Decoding photos: path → upright RGB image plus metadata, or one typed ImageLoadError.

This module owns everything between a file on disk and a PIL image the rest of the engine can
trust: which formats we open at all (a safe allow-list, nothing that runs external programs),
EXIF orientation, reduced-size decoding, colour-mode normalisation, the pixel-count cap against
decompression bombs, optional RAW support via ``rawpy``, and turning every decoder failure into
an :class:`ImageLoadError` with a :class:`LoadFailure` reason.

Policy decisions worth knowing:

- Truncated files raise ``TRUNCATED``; Pillow's global ``LOAD_TRUNCATED_IMAGES`` is left alone.
- Pillow's own bomb guard (``Image.MAX_IMAGE_PIXELS``) is only ever *raised*, once, to
  :data:`MAX_PIXELS` so that legitimate large photos (a 200 MP HEIC) open; it stays in place as a
  backstop. The cap that callers see is our own check of ``im.size`` right after opening, before
  any pixel is decoded. A ``max_pixels`` above ``2 * MAX_PIXELS`` is still refused by Pillow.
- Images with transparency are flattened on mid-grey, so that transparent areas look the same
  whatever the format and neither black nor white dominates an embedding.
"""

from __future__ import annotations

import io
import logging
import math
import os
import re
import stat
import struct
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from PIL import Image, UnidentifiedImageError

from mgdesk.core.quiet_decoders import silence_libtiff

log = logging.getLogger(__name__)

__all__ = [
    "MAX_PIXELS",
    "RAW_SUFFIXES",
    "SUPPORTED_SUFFIXES",
    "ImageInfo",
    "ImageLoadError",
    "LoadFailure",
    "LoadedImage",
    "is_supported",
    "jpeg_quality",
    "load_image",
    "raw_available",
    "read_info",
]

#: Largest image (width × height) we decode. A bit above 200 MP so that phone/stitched 200 MP
#: photos still load; an RGB image this size needs ~750 MB.
MAX_PIXELS: int = 250_000_000

#: Background for transparent pixels (mid-grey: neutral for both dark and light content).
FLATTEN_BACKGROUND: tuple[int, int, int] = (128, 128, 128)

try:  # HEIF/HEIC support is a hard dependency, but keep imaging usable if the wheel is broken.
    import pillow_heif

    if "HEIF" not in Image.OPEN:
        pillow_heif.register_heif_opener()
except Exception as exc:  # pragma: no cover - depends on the install
    log.warning("HEIF/HEIC support unavailable: %s", exc)

silence_libtiff()  # its C messages about odd TIFFs would clutter the terminal; failures are recorded

if Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS < MAX_PIXELS:
    # Only ever raise Pillow's limit (never disable it): our own check below is the real cap.
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS

# Formats Pillow may try. Everything else (EPS via Ghostscript, fuzz-prone niche formats) is
# refused before a plugin parses it. MPO (multi-picture JPEG) is handled by the JPEG plugin.
_WANTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "DIB", "TIFF", "HEIF", "AVIF")

_PILLOW_SUFFIXES: dict[str, tuple[str, ...]] = {
    "JPEG": (".jpg", ".jpeg", ".jpe", ".jfif", ".jif", ".mpo"),
    "PNG": (".png",),
    "WEBP": (".webp",),
    "GIF": (".gif",),
    "BMP": (".bmp", ".dib"),
    "TIFF": (".tif", ".tiff"),
    "HEIF": (".heic", ".heif", ".hif"),
    "AVIF": (".avif",),
}

#: Camera RAW suffixes, decoded through ``rawpy`` (embedded preview) when it is installed.
RAW_SUFFIXES: frozenset[str] = frozenset(
    {
        ".3fr", ".arw", ".cr2", ".cr3", ".crw", ".dcr", ".dng", ".erf", ".iiq", ".k25", ".kdc",
        ".mef", ".mos", ".mrw", ".nef", ".nrw", ".orf", ".pef", ".raf", ".raw", ".rw2", ".rwl",
        ".sr2", ".srf", ".srw", ".x3f",
    }
)  # fmt: skip


def raw_available() -> bool:
    """Whether RAW files can be decoded (the optional ``rawpy`` package is importable)."""
    try:
        import rawpy  # noqa: F401
    except Exception:
        return False
    return True


def _allowed_formats() -> tuple[str, ...]:
    Image.init()
    return tuple(f for f in _WANTED_FORMATS if f in Image.OPEN)


_ALLOWED_FORMATS: tuple[str, ...] = _allowed_formats()

#: Lowercase suffixes the scanner should treat as photos. RAW suffixes are included only when
#: ``rawpy`` is installed, so that a library without it is not flooded with UNSUPPORTED errors.
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(
    suffix for fmt in _ALLOWED_FORMATS for suffix in _PILLOW_SUFFIXES.get(fmt, ())
) | (RAW_SUFFIXES if raw_available() else frozenset())

_IMAGE_LIKE_SUFFIXES = frozenset(s for v in _PILLOW_SUFFIXES.values() for s in v)


def is_supported(path: str | os.PathLike[str]) -> bool:
    """Whether the scanner should consider ``path`` a photo (by suffix only; no I/O)."""
    return Path(path).suffix.lower() in SUPPORTED_SUFFIXES


class LoadFailure(str, Enum):
    """Why a file could not be loaded; stored as its value, so keep values stable."""

    UNSUPPORTED = "unsupported"
    TRUNCATED = "truncated"
    CORRUPT = "corrupt"
    TOO_LARGE = "too_large"
    UNREADABLE = "unreadable"
    EMPTY = "empty"
    MISSING = "missing"

    @property
    def label(self) -> str:
        """Short phrase for users, e.g. ``"truncated image"``."""
        return _LABELS[self]


_LABELS = {
    LoadFailure.UNSUPPORTED: "unsupported file",
    LoadFailure.TRUNCATED: "truncated image",
    LoadFailure.CORRUPT: "corrupt image",
    LoadFailure.TOO_LARGE: "image too large",
    LoadFailure.UNREADABLE: "unreadable file",
    LoadFailure.EMPTY: "empty file",
    LoadFailure.MISSING: "missing file",
}


#: a Python bytes literal in a decoder's message (Pillow names a broken chunk by its raw bytes):
#: noise to a user, so it is said in words
_BYTES_LITERAL = re.compile(r"""\bb(['"])(?:\\.|(?!\1).)*\1""")
#: libjpeg/zlib status codes Pillow reports bare ("decoder error -2")
_DECODER_STATUS = re.compile(r"^decoder error (-?\d+)$")


def _said_in_words(literal: re.Match) -> str:
    inner = literal.group(0)[2:-1]
    return "[garbled]" if "\\" in inner or not inner.isprintable() else inner


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(_BYTES_LITERAL.sub(_said_in_words, str(text)).split())
    if _DECODER_STATUS.match(text):
        text = f"the image data does not decode, {text}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ImageLoadError(Exception):
    """The one error :func:`load_image` and :func:`read_info` raise; ``str()`` is for users."""

    def __init__(self, path: str | os.PathLike[str], reason: LoadFailure, detail: str = "") -> None:
        super().__init__(os.fspath(path), LoadFailure(reason), detail)  # args keep it picklable
        self.path: str = os.fspath(path)
        self.reason: LoadFailure = LoadFailure(reason)
        self.detail: str = _one_line(detail)

    @property
    def why(self) -> str:
        """The failure without the path, for a place that names the file already ("corrupt image (…)")."""
        return f"{self.reason.label} ({self.detail})" if self.detail else self.reason.label

    def __str__(self) -> str:
        msg = f"{self.reason.label}: {self.path}"
        return f"{msg} ({self.detail})" if self.detail else msg


@dataclass(frozen=True)
class ImageInfo:
    """What we know about a photo without looking at its pixels."""

    width: int  # as displayed, i.e. after EXIF orientation
    height: int
    format: str  # Pillow's format name ("JPEG", "PNG", "HEIF", ...) or "RAW"
    orientation: int | None  # EXIF orientation 1-8 as stored in the file, None if absent/invalid
    captured: str | None  # ISO 8601 from DateTimeOriginal (or DateTime), with offset when known
    camera: str | None  # "Make Model", de-duplicated and cleaned
    exif_fields: int  # number of EXIF tags: a proxy for "which copy kept the richer metadata"
    shot: str | None = None  # capture signature (mgdesk.core.shots): tells a burst frame from an edit
    # the IJG quality (1-100) a JPEG's luminance quantisation table corresponds to; None when
    # not a JPEG. Heavily compressed copies are compared at the detail they still carry
    jpeg_quality: int | None = None


@dataclass
class LoadedImage:
    """A decoded photo: upright RGB pixels and the file's metadata."""

    image: Image.Image
    info: ImageInfo


# --------------------------------------------------------------------------------------------
# public entry points


def load_image(
    path: str | os.PathLike[str],
    max_side: int | None = None,
    *,
    max_pixels: int = MAX_PIXELS,
) -> LoadedImage:
    """Decode ``path`` to an upright RGB image, longest side at most ``max_side`` when given.

    JPEGs (and HEIFs with embedded thumbnails) are decoded at reduced size when ``max_side`` is
    small, which is several times faster than decoding fully and resizing. Raises
    :class:`ImageLoadError` for every failure, never anything else.
    """
    if max_side is not None and max_side < 1:
        raise ValueError(f"max_side must be positive, got {max_side}")
    spath = os.fspath(path)
    try:
        if Path(spath).suffix.lower() in RAW_SUFFIXES:
            return _load_raw(spath, max_side, max_pixels)
        with _open_regular(spath) as fp:
            return _load_pillow(spath, fp, max_side, max_pixels)
    except ImageLoadError:
        raise
    except BaseException as exc:  # noqa: BLE001 - the contract is "one typed error"
        if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
            raise
        raise _classify(spath, exc) from exc


def read_info(path: str | os.PathLike[str]) -> ImageInfo:
    """Read size, format and EXIF metadata without decoding pixels (cheap: headers only)."""
    spath = os.fspath(path)
    try:
        if Path(spath).suffix.lower() in RAW_SUFFIXES:
            return _read_raw_info(spath)
        with _open_regular(spath) as fp:
            with _open_pillow(spath, fp) as im:
                info, _ = _info_from_pillow(im)
                return info
    except ImageLoadError:
        raise
    except BaseException as exc:  # noqa: BLE001
        if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
            raise
        raise _classify(spath, exc) from exc


# --------------------------------------------------------------------------------------------
# opening files safely


def _open_regular(path: str) -> BinaryIO:
    """Open a regular, non-empty file for reading.

    Opened non-blocking and checked with ``fstat`` on the open descriptor, so a FIFO or device
    named ``*.jpg`` can neither hang us nor swap in between a check and the open.
    """
    nonblock = getattr(os, "O_NONBLOCK", 0)  # POSIX only; Windows has no FIFOs to fear here
    flags = os.O_RDONLY | nonblock | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise ImageLoadError(path, LoadFailure.MISSING, exc.strerror or "no such file") from exc
    except IsADirectoryError as exc:
        raise ImageLoadError(path, LoadFailure.UNREADABLE, "is a directory") from exc
    except PermissionError as exc:
        raise ImageLoadError(path, LoadFailure.UNREADABLE, exc.strerror or "permission denied") from exc
    except OSError as exc:
        raise ImageLoadError(path, LoadFailure.UNREADABLE, exc.strerror or str(exc)) from exc
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise ImageLoadError(path, LoadFailure.UNREADABLE, "is a directory")
        if not stat.S_ISREG(st.st_mode):
            raise ImageLoadError(path, LoadFailure.UNREADABLE, "not a regular file")
        if st.st_size == 0:
            raise ImageLoadError(path, LoadFailure.EMPTY, "0 bytes")
        if nonblock:
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _open_pillow(path: str, fp: BinaryIO) -> Image.Image:
    """``Image.open`` restricted to the allow-list; says *why* when the content is refused."""
    try:
        return Image.open(fp, formats=list(_ALLOWED_FORMATS))
    except UnidentifiedImageError:
        pass
    failed = _why_refused(fp)
    if failed:  # one of our formats claimed the header but could not parse it
        raise ImageLoadError(path, LoadFailure.CORRUPT, failed)
    other = _identify_any(fp)
    if other:
        raise ImageLoadError(path, LoadFailure.UNSUPPORTED, f"{other} files are not supported")
    if Path(path).suffix.lower() in _IMAGE_LIKE_SUFFIXES:
        raise ImageLoadError(path, LoadFailure.CORRUPT, f"not a valid image: {_sniff(fp)}")
    raise ImageLoadError(path, LoadFailure.UNSUPPORTED, f"not a recognised image format: {_sniff(fp)}")


def _why_refused(fp: BinaryIO) -> str | None:
    """The parse error of an allowed format whose signature matches, e.g. "PNG: broken PNG file".

    ``Image.open`` only says "cannot identify"; this replays the plugins that accepted the
    header so the user sees the actual reason.
    """
    try:
        fp.seek(0)
        prefix = fp.read(16)
    except OSError:
        return None
    for fmt in _ALLOWED_FORMATS:
        factory, accept = Image.OPEN[fmt]
        try:
            if accept is not None and not accept(prefix):
                continue
            fp.seek(0)
            factory(fp, "").close()  # type: ignore[call-arg]
        except Exception as exc:
            return f"{'JPEG' if fmt == 'MPO' else fmt}: {_one_line(str(exc)) or type(exc).__name__}"
    return None


def _identify_any(fp: BinaryIO) -> str | None:
    """Name the format if any Pillow plugin's signature check matches (no parsing at all).

    Only the cheap ``accept(prefix)`` tests run, so refused formats are never parsed, and
    plugins without a signature (which would need a full parse) are not guessed at.
    """
    try:
        fp.seek(0)
        prefix = fp.read(16)
    except OSError:
        return None
    for fmt in Image.ID:
        _, accept = Image.OPEN.get(fmt, (None, None))
        try:
            if accept is not None and accept(prefix) is True:
                return fmt
        except Exception:
            continue
    return None


def _sniff(fp: BinaryIO) -> str:
    """A few words about unrecognised content, so the message says more than 'corrupt'."""
    try:
        fp.seek(0)
        head = fp.read(512)
    except OSError:
        return "content could not be read"
    if head.startswith(b"\xff\xd8"):
        return "JPEG header but unreadable data"
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
            return "the file contains text"
        except UnicodeDecodeError:
            pass
    return "content not recognised"


# --------------------------------------------------------------------------------------------
# Pillow path


def _load_pillow(path: str, fp: BinaryIO, max_side: int | None, max_pixels: int) -> LoadedImage:
    with _open_pillow(path, fp) as im:
        width, height = im.size
        if width <= 0 or height <= 0:
            raise ImageLoadError(path, LoadFailure.CORRUPT, f"invalid size {width}×{height}")
        if width * height > max_pixels:
            raise ImageLoadError(
                path,
                LoadFailure.TOO_LARGE,
                f"{width}×{height} = {width * height / 1e6:.0f} MP, limit {max_pixels / 1e6:.0f} MP",
            )
        info, transpose = _info_from_pillow(im)
        if max_side is not None and max(width, height) > max_side:
            # Ask for ~2x the target (Pillow's reducing_gap) so the final LANCZOS has headroom.
            if im.draft("RGB", _scaled(im.size, 2.0 * max_side)) is None and im.format == "HEIF":
                # HEIF "drafts" by picking an embedded thumbnail; one just big enough beats
                # decoding a 200 MP grid (seconds) when none is twice the target.
                im.draft("RGB", _scaled(im.size, max_side))
        im.load()
        out = _to_rgb(im, max_side)
    if transpose is not None:
        out = out.transpose(transpose)
    return LoadedImage(out, info)


def _scaled(size: tuple[int, int], longest: float) -> tuple[int, int]:
    """``size`` shrunk (never enlarged) so that its longest side is about ``longest``."""
    scale = min(1.0, longest / max(size))
    return max(1, math.ceil(size[0] * scale)), max(1, math.ceil(size[1] * scale))


_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _info_from_pillow(im: Image.Image) -> tuple[ImageInfo, Image.Transpose | None]:
    """Metadata, plus the transpose still to apply to the decoded pixels (None if upright)."""
    exif = _safe_exif(im)
    pending = _orientation(exif)  # what the pixels still need
    # pillow-heif lets libheif rotate the pixels and resets EXIF to 1; report the original.
    stored = im.info.get("original_orientation") if im.format == "HEIF" else pending
    stored = stored if isinstance(stored, int) and 1 <= stored <= 8 else pending
    width, height = im.size
    if pending in (5, 6, 7, 8):
        width, height = height, width
    fmt = "JPEG" if im.format == "MPO" else str(im.format or "unknown")
    info = ImageInfo(
        width=width,
        height=height,
        format=fmt,
        orientation=stored,
        captured=_captured(exif),
        camera=_camera(exif),
        exif_fields=_count_exif(exif, is_tiff=im.format == "TIFF"),
        shot=_shot(exif),
        jpeg_quality=jpeg_quality(im),
    )
    return info, _TRANSPOSE.get(pending) if pending else None


#: the luminance quantisation table of the IJG reference encoder at quality 50 (JPEG Annex K)
_IJG_LUMINANCE = (16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24,
                  40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77,
                  24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95,
                  98, 112, 100, 103, 99)


def jpeg_quality(im: Image.Image) -> int | None:
    """The IJG quality whose scaling of the reference table matches the image's luminance table
    on average (other encoders' tables come out at a comparable figure); None when the image is
    not a JPEG or its tables cannot be read."""
    try:
        tables = getattr(im, "quantization", None)
        table = tables.get(0) if isinstance(tables, dict) else None
        if not table or len(table) != 64:
            return None
        scale = 100.0 * sum(table) / sum(_IJG_LUMINANCE)  # IJG: 5000/q below 50, 200-2q above
    except Exception:  # noqa: BLE001 - odd files: "not known" is the answer
        return None
    q = 5000.0 / scale if scale > 100.0 else (200.0 - scale) / 2.0
    return int(min(100, max(1, round(q))))


# --------------------------------------------------------------------------------------------
# colour modes


def _to_rgb(im: Image.Image, max_side: int | None) -> Image.Image:
    """Any Pillow mode → 8-bit RGB, longest side ≤ max_side; transparency flattened on grey."""
    mode = im.mode
    if mode in ("RGB", "L", "1") and "transparency" not in im.info:
        if mode == "1":
            im = im.convert("L")
        return _shrink(im, max_side).convert("RGB")
    if mode.startswith("I;16") or mode in ("I", "F"):
        sixteen = mode.startswith("I;16")
        work = im if mode in ("I", "F") else im.convert("I")
        return _high_depth_to_rgb(_shrink(work, max_side), sixteen=sixteen)
    if mode in ("La", "RGBa"):  # premultiplied alpha
        im = im.convert({"La": "LA", "RGBa": "RGBA"}[mode])
    if mode in ("PA", "LA", "RGBA", "La", "RGBa") or "transparency" in im.info:
        rgba = im.convert("RGBA")
        flat = Image.new("RGBA", rgba.size, (*FLATTEN_BACKGROUND, 255))
        flat.alpha_composite(rgba)
        return _shrink(flat.convert("RGB"), max_side)
    if mode == "P":
        return _shrink(im.convert("RGB"), max_side)
    # CMYK (Pillow already undoes Adobe's inverted CMYK in JPEG), YCbCr, LAB, HSV, RGBX, ...
    try:
        rgb = im.convert("RGB")
    except ValueError as exc:
        raise _ModeError(f"colour mode {mode} cannot be converted to RGB") from exc
    return _shrink(rgb, max_side)


class _ModeError(ValueError):
    """A mode we cannot convert: reported as UNSUPPORTED rather than CORRUPT."""


def _shrink(im: Image.Image, max_side: int | None) -> Image.Image:
    """LANCZOS down to max_side (after a cheap integer reduce), on a copy of an open file."""
    if max_side is None or max(im.size) <= max_side:
        return im
    im = im.copy() if getattr(im, "fp", None) is not None or im.readonly else im
    im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS, reducing_gap=2.0)
    return im


def _high_depth_to_rgb(im: Image.Image, *, sixteen: bool) -> Image.Image:
    """Scale 16/32-bit integer or float pixels to 8 bits by their range instead of clipping.

    Pillow's own ``convert("L")`` clips anything above 255, which turns a 16-bit photo white.
    16-bit data use the full 0-65535 range; 32-bit int and float data have no standard range,
    so we take the common conventions (0-1, 0-255, 0-65535) and otherwise stretch min..max.
    """
    arr = np.asarray(im).astype(np.float32)
    finite = np.isfinite(arr)
    if not finite.any():
        out = np.zeros(arr.shape, np.uint8)
    else:
        lo = float(arr[finite].min())
        hi = float(arr[finite].max())
        arr = np.where(finite, arr, lo)
        if sixteen:
            arr = arr / 257.0
        elif im.mode == "F" and lo >= 0 and hi <= 1.0:
            arr = arr * 255.0
        elif lo >= 0 and hi <= 255:
            pass
        elif lo >= 0 and hi <= 65535:
            arr = arr / 257.0
        else:
            arr = (arr - lo) * (255.0 / (hi - lo))
        out = np.clip(np.rint(arr), 0, 255).astype(np.uint8)
    return Image.fromarray(out, "L").convert("RGB")


# --------------------------------------------------------------------------------------------
# EXIF


def _safe_exif(im: Image.Image) -> Image.Exif | None:
    """The image's EXIF, or None when it is absent or too broken to parse (never fails a load)."""
    try:
        exif = im.getexif()
        len(exif)  # force parsing
        return exif
    except Exception as exc:
        log.debug("ignoring unreadable EXIF: %s", exc)
        return None


def _safe_ifd(exif: Image.Exif | None, tag: int) -> dict[int, Any]:
    if exif is None:
        return {}
    try:
        return dict(exif.get_ifd(tag))
    except Exception as exc:
        log.debug("ignoring unreadable EXIF IFD %#x: %s", tag, exc)
        return {}


def _orientation(exif: Image.Exif | None) -> int | None:
    try:
        value = exif.get(0x0112) if exif is not None else None
        value = int(value) if value is not None else None
    except Exception:
        return None
    return value if value is not None and 1 <= value <= 8 else None


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    value = " ".join(value.replace("\x00", " ").split())
    return value or None


_DATE_RE = re.compile(r"^(\d{4})[:\-/.](\d{2})[:\-/.](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET_RE = re.compile(r"^[+-]\d{2}:\d{2}$")


def _exif_datetime(raw: Any) -> datetime | None:
    """An EXIF date-time ("2024:05:01 10:00:00"), or None for blanks like "0000:00:00 00:00:00"."""
    text = _text(raw)
    match = _DATE_RE.match(text) if text else None
    if not match:
        return None
    try:
        stamp = datetime(*(int(g) for g in match.groups()))
    except ValueError:
        return None
    return stamp if stamp.year >= 1800 else None


def _captured(exif: Image.Exif | None) -> str | None:
    """ISO 8601 capture time: DateTimeOriginal (+OffsetTimeOriginal), else DateTime."""
    exif_ifd = _safe_ifd(exif, 0x8769)
    candidates = [(exif_ifd.get(0x9003), exif_ifd.get(0x9011))]
    if exif is not None:
        candidates.append((exif.get(0x0132), exif_ifd.get(0x9010)))
    for raw, offset in candidates:
        stamp = _exif_datetime(raw)
        if stamp is None:
            continue
        iso = stamp.isoformat()
        off = _text(offset)
        return iso + off if off and _OFFSET_RE.match(off) else iso
    return None


def _shot(exif: Image.Exif | None) -> str | None:
    """The capture signature: DateTimeOriginal (never the modify date: edits change it),
    sub-seconds and exposure settings."""
    from mgdesk.core.shots import shot_from_exif

    exif_ifd = _safe_ifd(exif, 0x8769)
    if not exif_ifd:
        return None
    try:
        return shot_from_exif(exif_ifd, _exif_datetime(exif_ifd.get(0x9003))).signature()
    except Exception as exc:  # odd EXIF must never stop a scan
        log.debug("ignoring unreadable capture fields: %s", exc)
        return None


_MAKER_NOISE = frozenset(
    {"corporation", "corp", "corp.", "co", "co.", "ltd", "ltd.", "co.,ltd", "co.,ltd.", "inc",
     "inc.", "company", "imaging", "optical", "camera", "electronics", "eastman", "gmbh", "ag"}
)  # fmt: skip


def _camera(exif: Image.Exif | None) -> str | None:
    """"Make Model", without corporate suffixes or the make repeated inside the model."""
    if exif is None:
        return None
    make = _text(exif.get(0x010F))
    model = _text(exif.get(0x0110))
    if make:
        words = [w for w in make.replace(",", " ").split() if w.lower() not in _MAKER_NOISE]
        make = " ".join(words) or make
    if make and model:
        if model.lower().startswith(make.lower()) or model.lower().startswith(make.split()[0].lower()):
            return model
        return f"{make} {model}"
    return model or make or None


_TIFF_STRUCTURE_TAGS = frozenset(
    {254, 255, 256, 257, 258, 259, 262, 266, 273, 277, 278, 279, 284, 317, 320, 322, 323, 324,
     325, 338, 339, 513, 514, 700, 33723, 34675, 0x8769, 0x8825, 0xA005}
)  # fmt: skip


def _count_exif(exif: Image.Exif | None, *, is_tiff: bool = False) -> int:
    """Count EXIF tags (IFD0 + Exif + GPS), leaving out pointers and TIFF image structure."""
    if exif is None:
        return 0
    try:
        base = [t for t in exif if t not in _TIFF_STRUCTURE_TAGS] if is_tiff else [
            t for t in exif if t not in (0x8769, 0x8825, 0xA005)
        ]
    except Exception:
        return 0
    return len(base) + len(_safe_ifd(exif, 0x8769)) + len(_safe_ifd(exif, 0x8825))


# --------------------------------------------------------------------------------------------
# RAW via rawpy

# LibRaw's `flip` (dcraw bits: 4 transpose, 2 flip vertically, 1 flip horizontally) → the EXIF
# orientation that describes the same transform. LibRaw reads it from the maker's own metadata,
# so it wins over the TIFF Orientation tag (often a constant 1 in RAW files).
_LIBRAW_FLIP_TO_ORIENTATION = {0: 1, 1: 2, 2: 4, 3: 3, 4: 5, 5: 8, 6: 6, 7: 7}
_RAW_MIN_PREVIEW = 512  # smaller embedded previews are too poor: demosaic at half size instead


def _import_rawpy(path: str) -> Any:
    try:
        import rawpy
    except Exception as exc:
        raise ImageLoadError(
            path,
            LoadFailure.UNSUPPORTED,
            "RAW files need the optional 'rawpy' package (pip install 'mgdesk[raw]')",
        ) from exc
    return rawpy


def _raw_exif(data: bytes) -> Image.Exif | None:
    """Most RAW formats are TIFF containers: read their IFD0/Exif tags straight from the bytes."""
    if not data.startswith((b"II*\x00", b"MM\x00*")):
        return None
    try:
        exif = Image.Exif()
        exif.load(data)
        len(exif)
        return exif
    except Exception as exc:
        log.debug("RAW EXIF unreadable: %s", exc)
        return None


def _raw_info(raw: Any, exif: Image.Exif | None) -> tuple[ImageInfo, int]:
    flip = int(raw.sizes.flip)
    orientation = _LIBRAW_FLIP_TO_ORIENTATION.get(flip, 1)
    width, height = int(raw.sizes.width), int(raw.sizes.height)
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    info = ImageInfo(
        width=width,
        height=height,
        format="RAW",
        orientation=orientation if flip else (_orientation(exif) or orientation),
        captured=_captured(exif),
        camera=_camera(exif),
        exif_fields=_count_exif(exif, is_tiff=True),
        shot=_shot(exif),
    )
    return info, orientation


def _read_raw_info(path: str) -> ImageInfo:
    rawpy = _import_rawpy(path)
    with _open_regular(path) as fp:
        data = fp.read()
    with rawpy.imread(io.BytesIO(data)) as raw:
        return _raw_info(raw, _raw_exif(data))[0]


def _load_raw(path: str, max_side: int | None, max_pixels: int) -> LoadedImage:
    """Decode a camera RAW via its embedded JPEG preview (fast), else a half-size demosaic."""
    rawpy = _import_rawpy(path)
    with _open_regular(path) as fp:
        data = fp.read()
    with rawpy.imread(io.BytesIO(data)) as raw:
        info, orientation = _raw_info(raw, _raw_exif(data))
        if info.width * info.height > max_pixels:
            raise ImageLoadError(path, LoadFailure.TOO_LARGE, f"{info.width}×{info.height}")
        needed = min(max_side, _RAW_MIN_PREVIEW) if max_side else _RAW_MIN_PREVIEW
        preview: Image.Image | None = None
        try:
            thumb = raw.extract_thumb()
        except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
            thumb = None
        if thumb is not None and thumb.format == rawpy.ThumbFormat.JPEG:
            try:
                with Image.open(io.BytesIO(thumb.data), formats=["JPEG"]) as jpeg:
                    if jpeg.size[0] * jpeg.size[1] <= max_pixels and max(jpeg.size) >= needed:
                        if max_side and max(jpeg.size) > max_side:
                            jpeg.draft("RGB", _scaled(jpeg.size, 2.0 * max_side))
                        jpeg.load()
                        if orientation == 1:  # a few cameras orient the preview itself
                            orientation = _orientation(_safe_exif(jpeg)) or 1
                        preview = _to_rgb(jpeg, max_side)
            except Exception as exc:
                log.debug("unusable RAW preview in %s: %s", path, exc)
        elif thumb is not None and thumb.format == rawpy.ThumbFormat.BITMAP:
            bitmap = Image.fromarray(np.ascontiguousarray(thumb.data[..., :3]).astype(np.uint8), "RGB")
            if max(bitmap.size) >= needed:
                preview = _to_rgb(bitmap, max_side)
        if preview is None:
            rgb = raw.postprocess(half_size=True, use_camera_wb=True, output_bps=8)
            preview = _to_rgb(Image.fromarray(rgb, "RGB"), max_side)
            orientation = 1  # LibRaw's processing already applies the flip
    transpose = _TRANSPOSE.get(orientation)
    return LoadedImage(preview.transpose(transpose) if transpose else preview, info)


# --------------------------------------------------------------------------------------------
# error classification

_CORRUPT_TYPES: tuple[type[BaseException], ...] = (
    SyntaxError,
    ValueError,
    struct.error,
    IndexError,
    TypeError,
    KeyError,
    ZeroDivisionError,
    OverflowError,
    RuntimeError,  # includes RecursionError
    AttributeError,
    AssertionError,
    NotImplementedError,
)


def _classify(path: str, exc: BaseException) -> ImageLoadError:
    """Map whatever a decoder raised to one typed error, with the decoder's words as detail."""
    detail = _one_line(str(exc)) or type(exc).__name__
    if isinstance(exc, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
        return ImageLoadError(path, LoadFailure.TOO_LARGE, detail)
    if isinstance(exc, MemoryError):
        return ImageLoadError(path, LoadFailure.TOO_LARGE, "not enough memory to decode")
    if isinstance(exc, ValueError) and "too large" in detail.lower():  # e.g. PNG text-chunk bombs
        return ImageLoadError(path, LoadFailure.TOO_LARGE, detail)
    if isinstance(exc, _ModeError):
        return ImageLoadError(path, LoadFailure.UNSUPPORTED, detail)
    rawpy_reason = _classify_rawpy(exc)
    if rawpy_reason is not None:
        return ImageLoadError(path, rawpy_reason, detail)
    lowered = detail.lower()
    if isinstance(exc, EOFError) or "truncated" in lowered or "premature end" in lowered:
        return ImageLoadError(path, LoadFailure.TRUNCATED, detail)
    if isinstance(exc, OSError):
        if isinstance(exc, (FileNotFoundError, NotADirectoryError)):
            return ImageLoadError(path, LoadFailure.MISSING, detail)
        if exc.errno is not None:  # a real I/O error (permissions, EIO, stale handle...)
            return ImageLoadError(path, LoadFailure.UNREADABLE, exc.strerror or detail)
        if any(w in lowered for w in ("unsupported", "not supported", "not available", "unknown raw mode")):
            return ImageLoadError(path, LoadFailure.UNSUPPORTED, detail)
        return ImageLoadError(path, LoadFailure.CORRUPT, detail)  # Pillow decoder errors
    if not isinstance(exc, _CORRUPT_TYPES):
        log.warning("unexpected %s while decoding %s", type(exc).__name__, path, exc_info=exc)
    if "unsupported" in lowered or "not supported" in lowered:
        return ImageLoadError(path, LoadFailure.UNSUPPORTED, detail)
    return ImageLoadError(path, LoadFailure.CORRUPT, f"{type(exc).__name__}: {detail}")


def _classify_rawpy(exc: BaseException) -> LoadFailure | None:
    module = type(exc).__module__ or ""
    if not module.startswith("rawpy"):
        return None
    name = type(exc).__name__
    if name in ("LibRawFileUnsupportedError", "NotSupportedError", "LibRawNotImplementedError"):
        return LoadFailure.UNSUPPORTED
    if name in ("LibRawTooBigError", "LibRawUnsufficientMemoryError", "LibRawMemPoolOverflowError"):
        return LoadFailure.TOO_LARGE
    if name == "LibRawIOError":
        return LoadFailure.TRUNCATED
    return LoadFailure.CORRUPT

