"""The engine is reusable without a GUI: importing every engine module loads no Qt."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import mgdesk


def engine_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(mgdesk.__path__, prefix="mgdesk."):
        if info.name.startswith("mgdesk.gui") or info.name == "mgdesk.__main__":
            continue
        names.append(info.name)
    return names


def test_importing_the_whole_engine_loads_no_qt():
    modules = engine_modules()
    assert "mgdesk.core.service" in modules and "mgdesk.core.embedding.embedder" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "qt = sorted(m for m in sys.modules if m.startswith(('PySide6', 'shiboken6', 'PyQt')))\n"
        "print(','.join(qt))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"engine imports Qt: {out.stdout.strip()}"
