"""Qt item models over worker payloads: photos (lazy), duplicate groups, tags and watched folders."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QAbstractListModel, QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSize, Qt, Slot
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap

from mgdesk.core.sizes import human_size
from mgdesk.gui.thumbnails import ThumbnailLoader
from mgdesk.gui.worker import FolderRow, GroupInfo

PathRole = Qt.ItemDataRole.UserRole + 1
ScoreRole = Qt.ItemDataRole.UserRole + 2
GroupRole = Qt.ItemDataRole.UserRole + 3
ErrorRole = Qt.ItemDataRole.UserRole + 4

Index = QModelIndex | QPersistentModelIndex


def placeholder(size: int, broken: bool = False) -> QPixmap:
    """Grey square while a thumbnail loads; a crossed one when it cannot be decoded."""
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor("#d9d9d9") if not broken else QColor("#f2d7d5"))
    if broken:
        painter = QPainter(pixmap)
        painter.setPen(QColor("#c0392b"))
        painter.drawLine(8, 8, size - 8, size - 8)
        painter.drawLine(size - 8, 8, 8, size - 8)
        painter.end()
    return pixmap


@dataclass(frozen=True)
class PhotoEntry:
    path: str
    score: float | None = None
    caption: str | None = None


class PhotoItemModel(QAbstractListModel):
    """A flat list of photos for icon grids; rows are exposed in batches (fetchMore) and thumbnails are only
    requested for the rows a view actually paints, so 50,000 photos cost a list of strings, not widgets."""

    BATCH = 4096  # each fetch relayouts the view: a few big batches beat many small ones at 50,000

    def __init__(self, thumbnails: ThumbnailLoader, size: int = 160, parent=None) -> None:
        super().__init__(parent)
        self._thumbs = thumbnails
        self._size = size
        self._entries: list[PhotoEntry] = []
        self._loaded = 0
        self._row_of: dict[str, int] = {}
        self._placeholder = placeholder(size)
        self._broken = placeholder(size, broken=True)
        thumbnails.ready.connect(self._on_thumbnail)
        thumbnails.failed.connect(self._on_thumbnail_failed)

    @property
    def thumbnail_size(self) -> int:
        return self._size

    def set_photos(self, entries: Sequence[PhotoEntry | str]) -> None:
        """Replace the photos; strings are paths."""
        self.beginResetModel()
        # plain strings stay strings (no object per photo); PhotoEntry only where there is a score
        self._entries = list(entries)
        self._loaded = min(self.BATCH, len(self._entries))
        self._row_of = {(e if isinstance(e, str) else e.path): i for i, e in enumerate(self._entries)}
        self.endResetModel()

    def _entry(self, row: int) -> PhotoEntry:
        e = self._entries[row]
        return PhotoEntry(e) if isinstance(e, str) else e

    def entries(self) -> list[PhotoEntry]:
        return [self._entry(i) for i in range(len(self._entries))]

    def total(self) -> int:
        return len(self._entries)

    def path(self, row: int) -> str:
        return self._entry(row).path

    # -- lazy loading
    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else self._loaded

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:
        return not parent.isValid() and self._loaded < len(self._entries)

    def fetchMore(self, parent: Index = QModelIndex()) -> None:
        if parent.isValid():
            return
        extra = min(self.BATCH, len(self._entries) - self._loaded)
        if extra <= 0:
            return
        self.beginInsertRows(QModelIndex(), self._loaded, self._loaded + extra - 1)
        self._loaded += extra
        self.endInsertRows()

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= self._loaded or index.column() != 0:
            return None
        entry = self._entry(index.row())
        if role == Qt.ItemDataRole.DisplayRole:
            if entry.caption is not None:
                return entry.caption
            name = os.path.basename(entry.path)
            return f"{entry.score:.3f}\n{name}" if entry.score is not None else name
        if role == Qt.ItemDataRole.DecorationRole:
            pixmap = self._thumbs.pixmap(entry.path, self._size)
            if pixmap is not None:
                return pixmap
            return self._broken if self._thumbs.error(entry.path, self._size) else self._placeholder
        if role == Qt.ItemDataRole.ToolTipRole:
            error = self._thumbs.error(entry.path, self._size)
            return f"{entry.path}\n{error}" if error else entry.path
        if role == PathRole:
            return entry.path
        if role == ScoreRole:
            return entry.score
        if role == ErrorRole:
            return self._thumbs.error(entry.path, self._size)
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled

    @Slot(str, int)
    def _on_thumbnail(self, path: str, size: int) -> None:
        if size != self._size:
            return
        row = self._row_of.get(path)
        if row is not None and row < self._loaded:
            idx = self.index(row, 0)
            self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])

    @Slot(str, int, str)
    def _on_thumbnail_failed(self, path: str, size: int, _message: str) -> None:
        self._on_thumbnail(path, size)


class GroupItemModel(QAbstractListModel):
    """Duplicate groups, largest reclaimable size first; the decoration is the suggested keeper's thumbnail."""

    def __init__(self, thumbnails: ThumbnailLoader, size: int = 96, parent=None) -> None:
        super().__init__(parent)
        self._thumbs = thumbnails
        self._size = size
        self._groups: list[GroupInfo] = []
        self._row_of: dict[str, list[int]] = {}
        self._placeholder = placeholder(size)
        self._broken = placeholder(size, broken=True)
        thumbnails.ready.connect(self._on_thumbnail)
        thumbnails.failed.connect(self._on_thumbnail_failed)

    def set_groups(self, groups: Sequence[GroupInfo]) -> None:
        self.beginResetModel()
        self._groups = sorted(groups, key=lambda g: (-g.reclaimable, g.key))
        self._row_of = {}
        for row, g in enumerate(self._groups):
            if g.members:
                self._row_of.setdefault(g.suggestion.path, []).append(row)
        self.endResetModel()

    def group(self, row: int) -> GroupInfo:
        return self._groups[row]

    def groups(self) -> list[GroupInfo]:
        return list(self._groups)

    def row_of_key(self, key: str) -> int | None:
        return next((i for i, g in enumerate(self._groups) if g.key == key), None)

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._groups)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self._groups) or index.column() != 0:
            return None
        g = self._groups[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return (f"{len(g.members)} photos · {g.level}\n{human_size(g.reclaimable)} reclaimable\n"
                    f"{g.suggestion.name if g.members else ''}")
        if role == Qt.ItemDataRole.DecorationRole:
            if not g.members:
                return self._placeholder
            path = g.suggestion.path
            pixmap = self._thumbs.pixmap(path, self._size)
            if pixmap is not None:
                return pixmap
            return self._broken if self._thumbs.error(path, self._size) else self._placeholder
        if role == Qt.ItemDataRole.ToolTipRole:
            return "\n".join(m.path for m in g.members)
        if role == GroupRole:
            return g
        if role == PathRole:
            return g.suggestion.path if g.members else None
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    @Slot(str, int)
    def _on_thumbnail(self, path: str, size: int) -> None:
        if size != self._size:
            return
        for row in self._row_of.get(path, ()):
            idx = self.index(row, 0)
            self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])

    @Slot(str, int, str)
    def _on_thumbnail_failed(self, path: str, size: int, _message: str) -> None:
        self._on_thumbnail(path, size)


class TagItemModel(QAbstractTableModel):
    """Tags with their photo counts (two columns), most frequent first."""

    HEADERS = ("Tag", "Photos")

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._tags: list[tuple[str, int]] = []

    def set_tags(self, tags: Sequence[tuple[str, int]]) -> None:
        self.beginResetModel()
        self._tags = sorted(((str(t), int(c)) for t, c in tags), key=lambda tc: (-tc[1], tc[0]))
        self.endResetModel()

    def tag(self, row: int) -> str:
        return self._tags[row][0]

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._tags)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else 2

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self._tags) or index.column() > 1:
            return None
        label, count = self._tags[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return label if index.column() == 0 else str(count)
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() == 1:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.UserRole:
            return label if index.column() == 0 else count
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal and 0 <= section < 2:
            return self.HEADERS[section]
        return None


class FolderItemModel(QAbstractTableModel):
    """Watched folders with photos, pending changes, errors and whether watching is paused."""

    HEADERS = ("Folder", "Photos", "Pending", "Errors", "State")

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._rows: list[FolderRow] = []

    def set_folders(self, rows: Sequence[FolderRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def folder(self, row: int) -> FolderRow:
        return self._rows[row]

    def folders(self) -> list[FolderRow]:
        return list(self._rows)

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.HEADERS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self._rows) or index.column() >= len(self.HEADERS):
            return None
        r = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            state = "missing" if not r.exists else ("paused" if r.paused else "watching")
            return (r.path, str(r.photos), str(r.pending), str(r.errors), state)[col]
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == 3 and r.errors:
                return QColor("#c0392b")
            if col == 4 and (r.paused or not r.exists):
                return QColor("#b9770e")
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (1, 2, 3):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == PathRole:
            return r.path
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal \
                and 0 <= section < len(self.HEADERS):
            return self.HEADERS[section]
        return None


def icon_size(size: int) -> QSize:
    return QSize(size, size)
