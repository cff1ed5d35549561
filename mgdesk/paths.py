"""Where mgdesk keeps its files: one place, overridable by MGDESK_HOME (tests set it)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "mgdesk"
REPO_ROOT = Path(__file__).resolve().parent.parent
# resources/ and models/ sit at the repository root; the README installs editable (pip install -e).
RESOURCES = REPO_ROOT / "resources"
MODEL_CARDS = REPO_ROOT / "models"


def _home() -> Path | None:
    value = os.environ.get("MGDESK_HOME")
    return Path(value).expanduser() if value else None


def data_dir() -> Path:
    """Database and user-added models live here."""
    home = _home()
    path = home / "data" if home else Path(platformdirs.user_data_dir(APP, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    """Thumbnails and other things that can be thrown away."""
    home = _home()
    path = home / "cache" if home else Path(platformdirs.user_cache_dir(APP, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def config_dir() -> Path:
    """Settings."""
    home = _home()
    path = home / "config" if home else Path(platformdirs.user_config_dir(APP, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_db_path() -> Path:
    return data_dir() / "library.sqlite"


def user_models_dir() -> Path:
    path = data_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path
