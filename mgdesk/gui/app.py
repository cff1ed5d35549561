"""Entry point of the desktop app: the one place that creates the QApplication and the main window."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

log = logging.getLogger(__name__)


def run(argv: Sequence[str] | None = None) -> int:
    """Open the main window and run the event loop; returns the exit code (`mgdesk gui`, or `mgdesk` alone)."""
    from PySide6.QtWidgets import QApplication

    from mgdesk.gui.main_window import MainWindow

    args = list(sys.argv[:1] if argv is None else ["mgdesk", *argv])
    app = QApplication.instance() or QApplication(args)
    app.setApplicationName("mgdesk")
    app.setOrganizationName("mgdesk")
    window = MainWindow()
    window.show()
    return int(app.exec())


if __name__ == "__main__":
    raise SystemExit(run(sys.argv[1:]))
