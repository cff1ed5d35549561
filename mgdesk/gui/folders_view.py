"""Folders view: watched folders with photos / pending / errors, add, remove, pause/resume, rescan; and the
empty state shown on first run."""

from __future__ import annotations

from PySide6.QtCore import QItemSelection, Qt, Signal, Slot
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QListWidget, QPushButton,
                               QSplitter, QTableView, QVBoxLayout, QWidget)

from mgdesk.gui.item_models import FolderItemModel
from mgdesk.gui.worker import FoldersResult


class EmptyState(QWidget):
    """First run: nothing to show yet, so the one thing to do is add a folder (button or drag and drop)."""

    addRequested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        title = QLabel("Add a folder of photos to get started")
        title.setStyleSheet("font-size:22px; font-weight:bold;")
        hint = QLabel("mgdesk finds duplicate and similar photos, searches by example and tags your albums —\n"
                      "all on this computer. Drag a folder onto this window, or choose one:")
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint.setStyleSheet("color:gray; font-size:13px;")
        self.button = QPushButton("Add folder…")
        self.setFocusProxy(self.button)  # a sidebar click puts the keyboard here
        self.button.setMinimumSize(180, 44)
        self.button.setStyleSheet("font-size:15px;")
        self.button.clicked.connect(self.addRequested)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        for w in (title, hint):
            layout.addWidget(w, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addSpacing(16)
        layout.addWidget(self.button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)


class FoldersView(QWidget):
    addRequested = Signal()
    removeRequested = Signal(str)
    pauseRequested = Signal(str, bool)
    rescanRequested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.model = FolderItemModel(self)
        self.table = QTableView()
        self.setFocusProxy(self.table)  # a sidebar click puts the keyboard on the folders
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in range(1, 5):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.add_button = QPushButton("Add folder…")
        self.remove_button = QPushButton("Stop watching")
        self.pause_button = QPushButton("Pause")
        self.rescan_button = QPushButton("Rescan all")
        self.add_button.clicked.connect(self.addRequested)
        self.remove_button.clicked.connect(self._remove)
        self.pause_button.clicked.connect(self._pause)
        self.rescan_button.clicked.connect(self.rescanRequested)
        buttons = QHBoxLayout()
        for b in (self.add_button, self.remove_button, self.pause_button, self.rescan_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        self.errors = QListWidget()
        self.errors_title = QLabel("Files that could not be read: none")
        # a few folders, possibly many unreadable files: the list gets the room, the user the splitter
        failures = QWidget()
        failures_layout = QVBoxLayout(failures)
        failures_layout.setContentsMargins(0, 0, 0, 0)
        failures_layout.addWidget(self.errors_title)
        failures_layout.addWidget(self.errors, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(failures)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(split, 1)
        self._update_buttons()

    @Slot(object)
    def show_folders(self, result: FoldersResult) -> None:
        selected = self.selected()
        self.model.set_folders(result.folders)
        for row, f in enumerate(result.folders):
            if f.path == selected:
                self.table.selectRow(row)
        self.errors.clear()
        for path, message in result.error_files:
            self.errors.addItem(message if path in message else (f"{path} — {message}" if message else path))
        n = len(result.error_files)
        self.errors_title.setText(f"Files that could not be read: {n if n else 'none'}")
        self._update_buttons()

    def selected(self) -> str | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return self.model.folder(rows[0].row()).path if rows else None

    @Slot()
    def _remove(self) -> None:
        path = self.selected()
        if path:
            self.removeRequested.emit(path)

    @Slot()
    def _pause(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            row = self.model.folder(rows[0].row())
            self.pauseRequested.emit(row.path, not row.paused)

    @Slot(QItemSelection, QItemSelection)
    def _update_buttons(self, *_args) -> None:
        rows = self.table.selectionModel().selectedRows()
        self.remove_button.setEnabled(bool(rows))
        self.pause_button.setEnabled(bool(rows))
        if rows:
            self.pause_button.setText("Resume" if self.model.folder(rows[0].row()).paused else "Pause")
