"""Tags view: tags with counts, a tag's photos in a grid, and each album (folder) with its dominant tags."""

from __future__ import annotations

import os

from PySide6.QtCore import QItemSelection, Qt, Signal, Slot
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QLabel, QListWidget, QListWidgetItem, QSplitter,
                               QTableView, QVBoxLayout, QWidget)

from mgdesk.gui.item_models import PhotoItemModel, TagItemModel
from mgdesk.gui.photo_grid import PhotoGrid
from mgdesk.gui.thumbnails import ThumbnailLoader
from mgdesk.gui.worker import AlbumTagsResult, TagPhotosResult, TagsResult


class TagsView(QWidget):
    tagRequested = Signal(str)
    albumRequested = Signal(str)

    def __init__(self, thumbnails: ThumbnailLoader, thumbnail_size: int = 140, parent=None) -> None:
        super().__init__(parent)
        self.tag_model = TagItemModel(self)
        self._tag: str | None = None  # the tag the user picked
        self._shown_tag: str | None = None  # whose photos the grid shows
        self.table = QTableView()
        self.setFocusProxy(self.table)  # a sidebar click puts the keyboard on the tags
        self.table.setModel(self.tag_model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.table.selectionModel().selectionChanged.connect(self._on_tag)

        self.photos = PhotoItemModel(thumbnails, size=thumbnail_size, parent=self)
        self.grid = PhotoGrid(self.photos)
        self.grid_title = QLabel("Pick a tag to see its photos")

        self.albums = QListWidget()
        self.albums.currentItemChanged.connect(self._on_album)
        self.album_tags = QLabel("Pick an album (folder) to see its dominant tags")
        self.album_tags.setWordWrap(True)
        self.album_tags.setAlignment(Qt.AlignmentFlag.AlignTop)

        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(QLabel("Tags"))
        ll.addWidget(self.table, 2)
        ll.addWidget(QLabel("Albums"))
        ll.addWidget(self.albums, 1)
        ll.addWidget(self.album_tags)
        middle = QWidget()
        ml = QVBoxLayout(middle)
        ml.setContentsMargins(0, 0, 0, 0)
        ml.addWidget(self.grid_title)
        ml.addWidget(self.grid, 1)
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(middle)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([300, 900])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

    @Slot(object)
    def show_tags(self, result: TagsResult) -> None:
        """New counts (after a scan or an action): the tag looked at stays selected and its photos
        are asked for again, so the grid never shows a photo that has left the library."""
        current = self._tag  # kept while the tag has no photo: it may come back (a folder added again)
        self.tag_model.set_tags(result.tags)
        row = next((r for r in range(self.tag_model.rowCount()) if self.tag_model.tag(r) == current), None)
        if row is not None:
            self.table.selectRow(row)  # asks for its photos again
        elif current is not None:
            self.photos.set_photos([])
            self._shown_tag = None
            self.grid_title.setText(f"No photo is tagged {current} any more. Pick a tag to see its photos")

    def set_albums(self, folders: list[str]) -> None:
        current = self.albums.currentItem().data(Qt.ItemDataRole.UserRole) if self.albums.currentItem() else None
        self.albums.blockSignals(True)
        self.albums.clear()
        for folder in sorted(set(folders)):
            item = QListWidgetItem(os.path.basename(folder.rstrip(os.sep)) or folder)
            item.setToolTip(folder)
            item.setData(Qt.ItemDataRole.UserRole, folder)
            self.albums.addItem(item)
            if folder == current:
                self.albums.setCurrentItem(item)
        self.albums.blockSignals(False)

    @Slot(object)
    def show_tag_photos(self, result: TagPhotosResult) -> None:
        n = len(result.paths)
        self.grid_title.setText(f"{result.label}: {n} photo{'s' * (n != 1)}")
        again, self._shown_tag = self._shown_tag == result.label, result.label
        self.grid.show_photos(list(result.paths), keep_place=again)

    @Slot(object)
    def show_album_tags(self, result: AlbumTagsResult) -> None:
        if not result.tags:
            text = "no dominant tags (no tag is on enough of the photos directly in this folder)"
        else:
            text = ", ".join(f"{label} ({share:.0%})" if share <= 1 else f"{label} ({share:g})"
                             for label, share in result.tags[:8])
        self.album_tags.setText(f"<b>{os.path.basename(result.folder.rstrip(os.sep))}</b>: {text}")

    @Slot(QItemSelection, QItemSelection)
    def _on_tag(self, *_args) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            self._tag = self.tag_model.tag(rows[0].row())
            self.tagRequested.emit(self._tag)

    @Slot(QListWidgetItem, QListWidgetItem)
    def _on_album(self, item: QListWidgetItem | None, _prev=None) -> None:
        if item is not None:
            self.albumRequested.emit(item.data(Qt.ItemDataRole.UserRole))
