"""File sizes as people read them, written one way everywhere (CLI, keep-best reasons, GUI)."""

from __future__ import annotations


def human_size(n: float) -> str:
    """Decimal units (1 KB = 1000 bytes), as file managers on macOS and Linux count, so the size
    a reason quotes is the size a card or a file manager shows."""
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000.0
    return f"{n:.1f} TB"  # pragma: no cover - the loop returns at GB


__all__ = ["human_size"]
