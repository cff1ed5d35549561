"""Shared fixtures. Several engineers append here: add fixtures, do not rewrite others'."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch):
    """MGDESK_HOME and XDG_DATA_HOME (the freedesktop trash) point into tmp: never the user's own."""
    home = tmp_path_factory.mktemp("mgdesk_home")
    monkeypatch.setenv("MGDESK_HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "xdg_data"))
    return home


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip("shared data not available")
    return SHARED_DATA


@pytest.fixture(scope="session")
def embedder():
    """The real lite0 network on the CPU, loaded once per test run (loading costs seconds)."""
    from mgdesk.core.embedding import Embedder

    return Embedder("lite0", "cpu")

