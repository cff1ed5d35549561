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


def is_under(path: str, root: str) -> bool:
    """`path` is `root` or lies below it (as strings: no symlink is resolved)."""
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _home() -> Path | None:
    value = os.environ.get("MGDESK_HOME")
    return Path(value).expanduser() if value else None


def _user_dir(kind: str, platform_dir) -> Path:
    home = _home()
    path = home / kind if home else Path(platform_dir(APP, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir() -> Path:
    """Database and user-added models live here."""
    return _user_dir("data", platformdirs.user_data_dir)


def cache_dir() -> Path:
    """Thumbnails and other things that can be thrown away."""
    return _user_dir("cache", platformdirs.user_cache_dir)


def config_dir() -> Path:
    """Settings."""
    return _user_dir("config", platformdirs.user_config_dir)


def default_db_path() -> Path:
    return data_dir() / "library.sqlite"


def user_models_dir() -> Path:
    path = data_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def card_paths() -> list[Path]:
    """Model cards: shipped ones first, then user-added ones (which may override a shipped name).
    Here rather than with the embedding code, so that naming the models loads no torch."""
    paths = sorted(MODEL_CARDS.glob("*.json"))
    try:
        paths += sorted(user_models_dir().glob("*.json"))
    except OSError:
        pass
    return paths
