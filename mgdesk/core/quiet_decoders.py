"""Decoders' own messages about broken files stay off the user's terminal.

libtiff prints every oddity of a TIFF straight to stderr from C ("TIFFFetchNormalTag: …", "Read
error on strip …"): a scan of a folder of odd TIFFs filled a terminal with hundreds of such lines
between the progress bar's updates. What a file's failure means is recorded per file (and listed
by `mgdesk errors` and the Folders view), so these lines say nothing the user can act on.

Pillow exposes no switch for them; libtiff's global handlers can be set to none, in the libtiff
that Pillow's wheel carries (found by name; a Pillow linked into one binary, as on Windows, has
none to find, and its messages stay).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys
from pathlib import Path

log = logging.getLogger(__name__)


def _libtiff_candidates() -> list[str]:
    import PIL

    pil = Path(PIL.__file__).resolve().parent
    found = [str(p) for folder in (pil.parent / "pillow.libs", pil / ".dylibs") if folder.is_dir()
             for p in sorted(folder.glob("libtiff*"))]
    if sys.platform.startswith("linux"):  # the one the process really loaded, whatever its name
        try:
            with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
                found += sorted({line.split()[-1] for line in maps if "libtiff" in line and "/" in line})
        except OSError:
            pass
    if not found:  # a Pillow built against the system's libtiff
        system = ctypes.util.find_library("tiff")
        found = [system] if system else []
    return list(dict.fromkeys(found))


def silence_libtiff() -> int:
    """Set libtiff's global warning and error handlers to none; how many libraries were quieted.

    Only the printing stops: a file libtiff cannot read still fails to decode, as before."""
    from PIL import Image  # noqa: F401  (loads Pillow's decoders, and with them its libtiff)

    quieted = 0
    for path in _libtiff_candidates():
        try:
            lib = ctypes.CDLL(path)  # the library already loaded: the same handle, no second copy
            for name in ("TIFFSetWarningHandler", "TIFFSetErrorHandler"):
                setter = getattr(lib, name)
                setter.argtypes, setter.restype = [ctypes.c_void_p], ctypes.c_void_p
                setter(None)
        except (OSError, AttributeError) as exc:
            log.debug("cannot quiet %s: %s", path, exc)
            continue
        quieted += 1
    return quieted


__all__ = ["silence_libtiff"]
