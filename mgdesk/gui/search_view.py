"""Search view: drop an image, pick a file, or "Find similar" from any photo → a ranked grid with scores."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from mgdesk.gui.item_models import PhotoEntry, PhotoItemModel
from mgdesk.gui.photo_grid import PhotoGrid
from mgdesk.gui.thumbnails import ThumbnailLoader
from mgdesk.gui.worker import SearchResult

IMAGE_FILTER = "Images (*.jpg *.jpeg *.png *.webp *.heic *.heif *.tif *.tiff *.bmp *.gif);;All files (*)"


class SearchView(QWidget):
    searchRequested = Signal(str)

    def __init__(self, thumbnails: ThumbnailLoader, thumbnail_size: int = 160, parent=None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.query_path: str | None = None
        self._query_gone = False  # the query photo left the disk after its search (an undo may bring it back)
        self._failed = False  # the last search could not be made
        self._shown_query: str | None = None  # whose results the grid shows
        self.model = PhotoItemModel(thumbnails, size=thumbnail_size, parent=self)
        self.grid = PhotoGrid(self.model)
        self.setFocusProxy(self.grid)  # a sidebar click puts the keyboard on the results
        self.grid.findSimilar.connect(self.search)
        self.query_thumb = QLabel()
        self.query_thumb.setFixedSize(96, 96)
        self.query_thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.query_thumb.setStyleSheet("border:1px dashed #999;")
        self.query_label = QLabel("Drop an image here, or choose a file, to find photos that look like it.")
        self.query_label.setWordWrap(True)
        self.pick = QPushButton("Choose image…")
        self.pick.clicked.connect(self.choose_file)
        top = QHBoxLayout()
        top.addWidget(self.query_thumb)
        top.addWidget(self.query_label, 1)
        top.addWidget(self.pick)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.grid, 1)
        self._thumbs = thumbnails
        thumbnails.ready.connect(self._on_thumb)

    @Slot()
    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Find photos like…", "", IMAGE_FILTER)
        if path:
            self.search(path)

    @Slot(str)
    def search(self, path: str) -> None:
        self.query_path, self._query_gone, self._failed = path, False, False
        self.query_label.setText(f"Searching for photos like {os.path.basename(path)}…")
        self.query_thumb.clear()  # never the last query's picture beside this one's name
        self._show_query_thumb()
        self.searchRequested.emit(path)

    @Slot(object)
    def show_results(self, result: SearchResult) -> None:
        if self.query_path is not None and result.query != self.query_path:
            return
        again, self._shown_query, self._failed = self._shown_query == result.query, result.query, False
        self.grid.show_photos([PhotoEntry(h.path, h.score) for h in result.hits], keep_place=again)
        n = len(result.hits)
        self.query_label.setText(f"{n} photo{'s' * (n != 1)} like {os.path.basename(result.query)}, best first"
                                 f"\n{result.query}")

    def refresh(self, moves: dict[str, str] | None = None) -> None:
        """The library changed (photos trashed, put back, moved, a folder no longer watched): results
        shown are asked for again, so they never offer a photo that has left. A query photo that
        was moved or renamed is followed; one that has left empties the results, quietly; put
        back, its results come back."""
        if self.query_path is None or self._failed:  # a query that cannot be made is not asked again
            return
        moved_to = (moves or {}).get(self.query_path)
        if moved_to is not None and not os.path.isfile(self.query_path):
            self.query_path = self._shown_query = moved_to
        self._query_gone = not os.path.isfile(self.query_path)
        if self._query_gone:
            self._shown_query = None
            self.model.set_photos([])
            self.query_label.setText(f"{os.path.basename(self.query_path)}, the photo searched with, is no longer "
                                     "there (trashed or moved). Choose or drop another image.")
        else:
            self.searchRequested.emit(self.query_path)

    def show_failure(self, message: str) -> None:
        """The search asked for cannot be made (not an image, unreadable): say so, show no results."""
        self._failed, self._shown_query = True, None
        self.model.set_photos([])
        name = os.path.basename(self.query_path) if self.query_path else "that file"
        self.query_label.setText(f"Cannot search with {name}: {message}")

    def _show_query_thumb(self) -> None:
        if self.query_path is None:
            return
        pixmap = self._thumbs.pixmap(self.query_path, 96)
        if pixmap is not None:
            self.query_thumb.setPixmap(pixmap)

    @Slot(str, int)
    def _on_thumb(self, path: str, size: int) -> None:
        if path == self.query_path and size == 96:
            self._show_query_thumb()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile() and os.path.isfile(urls[0].toLocalFile()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile():
            event.acceptProposedAction()
            self.search(urls[0].toLocalFile())
