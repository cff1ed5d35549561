"""A thumbnail grid (QListView in icon mode over a PhotoItemModel) with the photo context menu."""

from __future__ import annotations

import os
from collections.abc import Sequence

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QPoint, QSize, Qt, QUrl, Signal, Slot
from PySide6.QtGui import QAction, QDesktopServices
from PySide6.QtWidgets import (QAbstractItemView, QListView, QMenu, QStyledItemDelegate, QStyleOptionViewItem,
                               QWidget)

from mgdesk.gui.item_models import PathRole, PhotoEntry, PhotoItemModel


def open_in_file_manager(path: str) -> bool:
    """Show the folder holding `path` (the portable part of "reveal in file manager")."""
    folder = path if os.path.isdir(path) else os.path.dirname(path)
    return QDesktopServices.openUrl(QUrl.fromLocalFile(folder))


def open_photo(path: str) -> bool:
    """The photo in the system's own viewer."""
    return QDesktopServices.openUrl(QUrl.fromLocalFile(path))


class _CenteredDelegate(QStyledItemDelegate):
    """Thumbnail on top, caption centred below it, as icon mode would draw it."""

    def __init__(self, size: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._size = size

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:  # noqa: N802
        # every cell the same: a square thumbnail box and two caption lines (uniform sizes: asked once)
        return QSize(self._size + 20, self._size + 40)

    def initStyleOption(self, option: QStyleOptionViewItem, index: QModelIndex) -> None:  # noqa: N802
        super().initStyleOption(option, index)
        option.decorationSize = QSize(self._size, self._size)  # portrait or landscape: same box, same baseline
        option.decorationPosition = QStyleOptionViewItem.Position.Top
        option.decorationAlignment = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom
        option.displayAlignment = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop
        option.features |= QStyleOptionViewItem.ViewItemFeature.WrapText


class PhotoGrid(QListView):
    """No widget per photo: the view paints only visible rows, the model decodes nothing itself."""

    findSimilar = Signal(str)
    openRequested = Signal(str)

    def __init__(self, model: PhotoItemModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        size = model.thumbnail_size
        self.setModel(model)
        # a wrapping left-to-right list with uniform item sizes lays out as a grid in O(rows) with no
        # per-item geometry; icon mode keeps a rect per item and relayouts slowly at 50,000 rows
        self.setViewMode(QListView.ViewMode.ListMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.SinglePass)
        self.setIconSize(QSize(size, size))
        self.setGridSize(QSize(size + 24, size + 44))
        self.setItemDelegate(_CenteredDelegate(size, self))
        self.setWordWrap(True)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.setSpacing(4)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._menu)
        self.activated.connect(self._on_activated)  # a double click or Enter (a single click where the
        # platform opens on one), as a file manager does
        self.openRequested.connect(open_photo)

    def selected_paths(self) -> list[str]:
        return [i.data(PathRole) for i in self.selectedIndexes()]

    def show_photos(self, entries: Sequence[PhotoEntry | str], *, keep_place: bool = False) -> None:
        """New photos for the grid. With `keep_place` (the same list asked again after a trash or a
        scan) the photo the user was on stays current and the view stays where it was scrolled."""
        model: PhotoItemModel = self.model()
        current = self.currentIndex().data(PathRole) if self.currentIndex().isValid() else None
        selected = set(self.selected_paths())
        scrolled = self.verticalScrollBar().value()
        model.set_photos(entries)
        if not keep_place or (current is None and not selected):
            return
        rows = {e.path: i for i, e in enumerate(model.entries())}
        while model.canFetchMore() and any(rows.get(p, -1) >= model.rowCount() for p in {current, *selected}):
            model.fetchMore()
        if current in rows:
            self.setCurrentIndex(model.index(rows[current], 0))
        chosen = self.selectionModel()
        chosen.clearSelection()
        for path in selected:
            if path in rows:
                chosen.select(model.index(rows[path], 0), QItemSelectionModel.SelectionFlag.Select)
        self.verticalScrollBar().setValue(scrolled)

    def context_actions(self, path: str) -> list[QAction]:
        similar = QAction("Find similar", self)
        similar.setData(path)
        similar.triggered.connect(self._find_similar)
        reveal = QAction("Show in file manager", self)
        reveal.setData(path)
        reveal.triggered.connect(self._reveal)
        show = QAction("Open", self)
        show.setData(path)
        show.triggered.connect(lambda: self.openRequested.emit(path))
        return [show, similar, reveal]

    @Slot(QPoint)
    def _menu(self, pos: QPoint) -> None:
        index = self.indexAt(pos)
        if not index.isValid():
            return
        menu = QMenu(self)
        for action in self.context_actions(index.data(PathRole)):
            menu.addAction(action)
        menu.exec(self.viewport().mapToGlobal(pos))

    @Slot()
    def _find_similar(self) -> None:
        self.findSimilar.emit(self.sender().data())

    @Slot()
    def _reveal(self) -> None:
        open_in_file_manager(self.sender().data())

    @Slot(QModelIndex)
    def _on_activated(self, index: QModelIndex) -> None:
        self.openRequested.emit(index.data(PathRole))
