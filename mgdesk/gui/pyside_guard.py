"""Guard against a refcount bug in some PySide6 builds on Python < 3.12 (True/None lose a reference per call).

PySide6 6.12.0 on CPython 3.11 drops one reference to `True` on every `Signal.emit()` and one to
`None` on every void method (beginResetModel, setObjectName, ...): harmless where these objects are
immortal (Python >= 3.12), a "Fatal Python error: bool_dealloc" after a few thousand signals here.
`install()` measures whether this interpreter+binding pair has the bug and, only then, keeps a
ballast of references to True/False/None topped up from a GUI-thread timer so that their counts
never reach zero. The real fix is a PySide6 without the bug (pin < 6.12) or Python >= 3.12.
"""

from __future__ import annotations

import logging
import sys

log = logging.getLogger(__name__)

_BALLAST: list[object] = []
_CHUNK = 1_000_000  # references added per top-up (8 MB of list slots)
_LOW_WATER = 500_000
_timer = None


def leaks_references() -> bool:
    """True when emitting a Qt signal costs `True` a reference (measured, not guessed from versions)."""
    if sys.version_info >= (3, 12):
        return False  # True/False/None are immortal
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        ping = Signal()

    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(100):
        probe.ping.emit()
    return sys.getrefcount(True) < before - 50


def _top_up() -> None:
    import ctypes

    for obj in (True, False, None):
        if sys.getrefcount(obj) < _LOW_WATER:
            chunk = [obj] * _CHUNK
            # never freed, not even at interpreter exit (freeing it would undo the top-up while the
            # leaked decrefs remain, and crash the shutdown)
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(chunk))
            _BALLAST.append(chunk)


def install() -> bool:
    """Start the ballast when needed (idempotent); returns whether the bug was found."""
    global _timer
    if _timer is not None:
        return True
    if not leaks_references():
        return False
    from PySide6.QtCore import QCoreApplication, QTimer

    log.warning("this PySide6 (%s) on Python %d.%d leaks references to True/None; working around it",
                __import__("PySide6").__version__, *sys.version_info[:2])
    _top_up()
    _timer = QTimer(QCoreApplication.instance())
    _timer.setInterval(2000)
    _timer.timeout.connect(_top_up)
    _timer.start()
    return True
