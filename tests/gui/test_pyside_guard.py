"""Many signals do not kill the interpreter, whatever this PySide6 does to True's reference count."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal

from mgdesk.gui import pyside_guard


class _Emitter(QObject):
    ping = Signal()


def test_a_hundred_thousand_signals_leave_true_and_none_alive(qapp):
    pyside_guard.install()
    emitter = _Emitter()
    for _ in range(100_000):  # more than True's natural reference count in this process
        emitter.ping.emit()
    pyside_guard._top_up()  # what the timer does every 2 s in the app
    assert sys.getrefcount(True) > 1000 and sys.getrefcount(None) > 1000
