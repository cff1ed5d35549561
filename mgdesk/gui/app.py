"""Entry point of the desktop app: the one place that creates the QApplication and the main window."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence

log = logging.getLogger(__name__)


def no_display_reason() -> str | None:
    """Why the window cannot open here, or None. Qt itself would abort the process with a core dump."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return ("no display to open the window on (DISPLAY and WAYLAND_DISPLAY are unset); "
            "use the command line instead (mgdesk --help), or set QT_QPA_PLATFORM")


def run(argv: Sequence[str] | None = None) -> int:
    """Open the main window and run the event loop; returns the exit code (`mgdesk gui`, or `mgdesk` alone)."""
    reason = no_display_reason()
    if reason:
        print(f"mgdesk: error: {reason}", file=sys.stderr)
        return 1
    from PySide6.QtWidgets import QApplication

    from mgdesk.gui.main_window import MainWindow

    args = list(sys.argv[:1] if argv is None else ["mgdesk", *argv])
    app = QApplication.instance() or QApplication(args)
    app.setApplicationName("mgdesk")
    app.setOrganizationName("mgdesk")
    app.setDesktopFileName("mgdesk")  # packaging/linux/mgdesk.desktop: the menu entry and its icon
    from mgdesk.core.service import long_lived

    with long_lived():  # Qt's and the window's objects live as long as the app
        window = MainWindow()
        window.show()
    return int(app.exec())


if __name__ == "__main__":
    raise SystemExit(run(sys.argv[1:]))
