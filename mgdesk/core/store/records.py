"""Frozen *Record dataclasses: rows of the store as the rest of the engine sees them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import numpy as np


class FileStatus(str, Enum):
    OK = "ok"
    ERROR = "error"
    MISSING = "missing"
    PENDING = "pending"


@dataclass(frozen=True)
class FileRecord:
    id: int
    path: str
    folder: str
    size: int
    mtime_ns: int
    dev: int | None
    ino: int | None
    partial_hash: str | None
    hash: str | None
    width: int | None
    height: int | None
    format: str | None
    captured: str | None
    camera: str | None
    orientation: int | None
    status: FileStatus
    error_reason: str | None
    error_message: str | None
    first_seen: float
    last_seen: float
    exif_fields: int | None = None
    shot: str | None = None  # capture signature, see mgdesk.core.shots

    def as_scanned(self) -> bool:
        """Whether the file at the record's path is still the one scanned (size and modification
        time): a copy replaced or edited since is no copy until a scan reads it again, and must
        not stand in for one when another is removed."""
        try:
            st = os.stat(self.path)
        except OSError:
            return False
        return st.st_size == self.size and st.st_mtime_ns == self.mtime_ns

    @classmethod
    def from_row(cls, row: dict) -> FileRecord:
        values = {name: row.get(name) for name in cls.__dataclass_fields__}
        values["status"] = FileStatus(values["status"])
        return cls(**values)


@dataclass(frozen=True)
class EmbeddingRecord:
    file_id: int
    model: str
    descriptor: np.ndarray  # (dim,) float32, raw (not whitened)
    views: np.ndarray | None  # (n_views, dim) float32
    created: float


NOT_DUPLICATE = "not_duplicate"  # the action kind of "these photos are not duplicates"


@dataclass(frozen=True)
class ActionItemRecord:
    id: int
    action_id: int
    original_path: str
    destination_path: str | None
    trash_info: str | None
    hash: str | None
    size: int | None
    done: bool
    undone: bool
    error: str | None
    restored_path: str | None = None  # where undo put it back, when not at original_path


@dataclass(frozen=True)
class ActionRecord:
    id: int
    kind: str  # 'trash' | 'move' | 'not_duplicate' (items: the photos marked, nothing moved)
    destination: str | None
    state: str  # 'pending' | 'done' | 'interrupted' | 'undone'
    created: float
    finished: float | None
    undone_at: float | None
    items: tuple[ActionItemRecord, ...] = ()
    # original paths the undo that returned this record took back (an undo may need two goes)
    undone_now: tuple[str, ...] = ()

    @property
    def done_items(self) -> tuple[ActionItemRecord, ...]:
        return tuple(i for i in self.items if i.done)

    @property
    def undoable_items(self) -> tuple[ActionItemRecord, ...]:
        """What an undo would still take back."""
        return tuple(i for i in self.items if i.done and not i.undone)

    @property
    def bytes(self) -> int:
        return sum(i.size or 0 for i in self.done_items)

    @property
    def renamed(self) -> dict[str, str]:
        """{original path: the path it has now} for files that took another name to leave a file
        already there alone: put back by undo beside a file that took their path, or moved into
        a folder that held their name. Names inside the OS trash are the trash's business."""
        out = {}
        for i in self.items:
            now = i.restored_path if i.undone else (i.destination_path if i.done and self.kind == "move" else None)
            if now and Path(now).name != Path(i.original_path).name:
                out[i.original_path] = now
        return out


@dataclass(frozen=True)
class RootRecord:
    path: str
    paused: bool
    added: float


@dataclass(frozen=True)
class ScanRecord:
    id: int
    roots: tuple[str, ...]
    model: str
    started: float
    finished: float | None
    cancelled: bool
    counts: dict
