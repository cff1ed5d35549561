"""User settings: one declaration per option (type, default, label, help), persisted as JSON in config_dir()."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mgdesk import paths
from mgdesk.core.grouping import GroupingConfig
from mgdesk.core.keepbest import RULES

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Option:
    """One setting; the settings dialog renders it from this declaration alone."""

    name: str
    type: type
    default: Any
    label: str
    help: str
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    # earlier defaults: a saved file holding one of them was never a choice, so it moves on
    former_defaults: tuple[Any, ...] = ()


OPTIONS: tuple[Option, ...] = (
    Option("model", str, "lite0", "Embedding model", "Network used to describe photos (a rescan follows a change).",
           choices=("lite0", "lite1", "lite2")),
    Option("device", str, "auto", "Device", "Where the network runs: auto picks CUDA when available.",
           choices=("auto", "cpu", "cuda")),
    Option("default_level", str, "copy", "Default duplicate level", "Which groups the Duplicates view opens on.",
           choices=("exact", "copy", "similar")),
    Option("similar_threshold", float, GroupingConfig().similar_cosine, "Similarity threshold",
           "How alike two groups of shots must be on average to merge into one similar group (where the "
           f"Duplicates slider starts; {GroupingConfig().similar_cosine:.2f} is the engine's calibrated "
           "default; geometry-backed pairs lower it).", minimum=0.3, maximum=0.99),
    Option("keep_best_rules", str, ", ".join(RULES), "Keep-best rules",
           "Order in which the photo to keep is chosen in a group (comma separated; names from "
           "mgdesk.core.keepbest.RULES); rules left out are not used.",
           former_defaults=("resolution, file_size, format, oldest, folder, exif",
                            "resolution, unedited, file_size, format, oldest, folder, exif",
                            "resolution, unedited, oldest, file_size, format, folder, exif")),
    Option("preferred_folders", str, "", "Preferred folders",
           "For the 'folder' keep rule: folders whose copy is kept first (separated by ';', best first)."),
    Option("excluded_patterns", str, "*/.thumbnails/*; */@eaDir/*; */.Trash*", "Excluded patterns",
           "Glob patterns of paths never scanned (separated by ';')."),
    Option("quiet_seconds", float, 2.0, "Watch quiet period (s)",
           "A new file is picked up once its size and date have been stable this long.", minimum=0.2, maximum=60.0),
    Option("thumbnail_size", int, 160, "Thumbnail size (px)", "Size of grid thumbnails.", minimum=64, maximum=512),
)
BY_NAME = {o.name: o for o in OPTIONS}


def rule_names(text: str) -> tuple[str, ...]:
    """The keep-best rule names of the setting's text (comma separated)."""
    return tuple(r.strip() for r in str(text).split(",") if r.strip())


def settings_path() -> Path:
    return paths.config_dir() / "settings.json"


class Settings:
    """Current values; unknown or malformed entries in the file fall back to their defaults."""

    def __init__(self, values: dict[str, Any] | None = None, path: Path | None = None) -> None:
        self.path = path or settings_path()
        self.values: dict[str, Any] = {o.name: o.default for o in OPTIONS}
        for name, value in (values or {}).items():
            self.set(name, value)

    @classmethod
    def load(cls, path: Path | None = None) -> "Settings":
        path = path or settings_path()
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raw = {}
        except (OSError, ValueError) as exc:
            log.warning("settings file %s unreadable (%s); using defaults", path, exc)
            raw = {}
        settings = cls(path=path)
        for name, value in (raw if isinstance(raw, dict) else {}).items():
            if name in BY_NAME and value in BY_NAME[name].former_defaults:
                continue  # saved because every value is saved, not chosen: take today's default
            try:
                settings.set(name, value)
            except (KeyError, TypeError, ValueError):
                log.warning("ignoring setting %s=%r", name, value)
        return settings

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.values, indent=2, sort_keys=True), encoding="utf-8")
        tmp.replace(self.path)

    def get(self, name: str) -> Any:
        return self.values[name]

    def set(self, name: str, value: Any) -> None:
        option = BY_NAME[name]
        value = option.type(value)
        if option.choices and value not in option.choices:
            raise ValueError(f"{name} must be one of {option.choices}")
        if option.minimum is not None and value < option.minimum:
            value = option.type(option.minimum)
        if option.maximum is not None and value > option.maximum:
            value = option.type(option.maximum)
        self.values[name] = value

    def __getattr__(self, name: str) -> Any:
        if name in BY_NAME:
            return self.values[name]
        raise AttributeError(name)

    @property
    def device_or_none(self) -> str | None:
        return None if self.values["device"] == "auto" else self.values["device"]

    @property
    def keep_rules(self):
        """The keep-best rules as the engine takes them; an unknown rule name falls back to the default."""
        from mgdesk.core.keepbest import KeepRules

        order = rule_names(self.values["keep_best_rules"])
        folders = tuple(p.strip() for p in str(self.values.get("preferred_folders", "")).split(";") if p.strip())
        try:
            return KeepRules(order=order, preferred_folders=folders)
        except ValueError as exc:
            log.warning("ignoring keep-best rules setting: %s", exc)
            return KeepRules(preferred_folders=folders)

    @property
    def excluded(self) -> tuple[str, ...]:
        return tuple(p.strip() for p in self.values["excluded_patterns"].split(";") if p.strip())
