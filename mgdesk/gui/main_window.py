"""The main window: sidebar of views, the status bar (progress, images/s, ETA, device, cancel), wiring to the worker."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, Slot
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QIcon, QKeySequence
from PySide6.QtWidgets import (QFileDialog, QLabel, QListWidget, QListWidgetItem, QMainWindow, QMessageBox,
                               QProgressBar, QPushButton, QStackedWidget, QWidget, QHBoxLayout)

from mgdesk.gui.duplicates_view import DuplicatesView
from mgdesk.gui.folders_view import EmptyState, FoldersView
from mgdesk.gui.item_models import human_size
from mgdesk.gui.search_view import SearchView
from mgdesk.gui.settings import BY_NAME, Settings
from mgdesk.gui.settings_dialog import SettingsDialog
from mgdesk.gui.tags_view import TagsView
from mgdesk.gui.thumbnails import ThumbnailLoader
from mgdesk.gui.worker import (ActionResult, FoldersResult, GroupingStep, GroupsResult, LibraryClient, MemberInfo,
                               Ready, ScanDone, ScanProgress, SearchResult, WorkerError)
from mgdesk.paths import RESOURCES

log = logging.getLogger(__name__)

PAGES = ("Duplicates", "Search", "Tags", "Folders")


def ask_confirmation(parent: QWidget, title: str, text: str) -> bool:
    """The default confirmation: a modal question, No by default. Tests replace `MainWindow.confirm`."""
    answer = QMessageBox.question(parent, title, text, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                  QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes


def format_eta(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return "ETA —"
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"ETA {seconds // 3600} h {seconds % 3600 // 60:02d} min"
    if seconds >= 60:
        return f"ETA {seconds // 60} min {seconds % 60:02d} s"
    return f"ETA {seconds} s"


class MainWindow(QMainWindow):
    def __init__(self, *, settings: Settings | None = None, db_path: Path | None = None,
                 library_factory: Callable[..., Any] | None = None, watch: bool = True,
                 scan_on_start: bool = True) -> None:
        super().__init__()
        self.setWindowTitle("mgdesk")
        self.setWindowIcon(QIcon(str(RESOURCES / "mgdesk.svg")))  # also packaging/'s desktop entry's
        self.resize(1280, 800)
        self.setAcceptDrops(True)
        self.settings = settings or Settings.load()
        self.confirm: Callable[[QWidget, str, str], bool] = ask_confirmation
        self.last_confirmation: str = ""
        self._scan_on_start = scan_on_start
        self._have_folders: bool | None = None
        self._folders: tuple[str, ...] = ()
        self.busy = False
        self.last_progress: ScanProgress | None = None
        self.scanning = False  # a scan's progress owns the status bar's progress bar meanwhile
        # (text, is an error) the status line showed before a grouping took it for its progress
        self._status_before_grouping: tuple[str, bool] | None = None
        self._status_before_scan: tuple[str, bool] | None = None  # the same, for a scan's progress

        self.thumbnails = ThumbnailLoader(self, threads=2)
        self.client = LibraryClient(self, db_path=db_path, model=self.settings.model,
                                    device=self.settings.device_or_none, quiet_seconds=self.settings.quiet_seconds,
                                    exclude=self.settings.excluded, keep_rules=self.settings.keep_rules,
                                    library_factory=library_factory, watch=watch)
        w = self.client.worker

        # views
        self.duplicates = DuplicatesView(self.thumbnails, level=self.settings.default_level,
                                         threshold=self.settings.similar_threshold)
        self.search_view = SearchView(self.thumbnails, self.settings.thumbnail_size)
        self.tags_view = TagsView(self.thumbnails, self.settings.thumbnail_size)
        self.folders_view = FoldersView()
        self.empty_state = EmptyState()
        self.stack = QStackedWidget()
        for page in (self.duplicates, self.search_view, self.tags_view, self.folders_view, self.empty_state):
            self.stack.addWidget(page)
        self.sidebar = QListWidget()
        self.sidebar.setFixedWidth(150)
        self.sidebar.setIconSize(QSize(20, 20))
        self.sidebar.setStyleSheet("QListWidget { font-size: 14px; } QListWidget::item { padding: 8px; }")
        for name in PAGES:
            self.sidebar.addItem(QListWidgetItem(name))
        self.sidebar.currentRowChanged.connect(self._on_page)
        # a click takes the keyboard into the page (J/K review at once); arrow keys stay in the sidebar
        self.sidebar.itemClicked.connect(lambda _item: self.stack.currentWidget().setFocus(
            Qt.FocusReason.MouseFocusReason))
        central = QWidget()
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.sidebar)
        row.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        # status bar
        self.status_text = QLabel("Opening the library…")
        self.showing_error = False
        self._error_operation = ""  # what failed, while its error is shown
        self.progress = QProgressBar()
        self.progress.setFixedWidth(220)
        self.progress.setFormat("%v / %m")
        self.rate_label = QLabel("")
        self.eta_label = QLabel("")
        self.device_label = QLabel("device: …")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the scan after the current batch, or the grouping (the work done is kept)")
        self.cancel_button.clicked.connect(self.cancel_scan)
        sb = self.statusBar()
        sb.addWidget(self.status_text, 1)
        for widget in (self.progress, self.rate_label, self.eta_label, self.cancel_button):
            sb.addPermanentWidget(widget)
            widget.hide()
        sb.addPermanentWidget(self.device_label)

        # menus and window-wide actions
        self.add_action = QAction("Add folder…", self, shortcut=QKeySequence("Ctrl+O"), triggered=self.choose_folder)
        self.rescan_action = QAction("Rescan", self, shortcut=QKeySequence("F5"), triggered=self.rescan)
        self.settings_action = QAction("Settings…", self, shortcut=QKeySequence("Ctrl+,"),
                                       triggered=self.open_settings)
        self.quit_action = QAction("Quit", self, shortcut=QKeySequence("Ctrl+Q"), triggered=self.close)
        self.undo_action = QAction("Undo", self, shortcut=QKeySequence("Ctrl+Z"), triggered=self.undo)
        file_menu = self.menuBar().addMenu("&File")
        for a in (self.add_action, self.rescan_action, self.settings_action, self.quit_action):
            file_menu.addAction(a)
        edit_menu = self.menuBar().addMenu("&Edit")
        edit_menu.addAction(self.undo_action)

        # view → worker requests
        self.empty_state.addRequested.connect(self.choose_folder)
        self.folders_view.addRequested.connect(self.choose_folder)
        self.folders_view.removeRequested.connect(self.remove_folder)
        self.folders_view.pauseRequested.connect(self.client.set_paused)
        self.folders_view.rescanRequested.connect(self.rescan)
        self.duplicates.regroupRequested.connect(self.request_groups)
        self.duplicates.trashRequested.connect(self.trash_members)
        self.duplicates.keepAllRequested.connect(self.client.keep_all)
        self.duplicates.undo_button.clicked.connect(self.undo)
        self.search_view.searchRequested.connect(self._run_search)
        self.tags_view.grid.findSimilar.connect(self.find_similar)
        self.tags_view.tagRequested.connect(self.client.tag_photos)
        self.tags_view.albumRequested.connect(self.client.album_tags)

        # worker → GUI results (queued: the worker lives in its own thread)
        w.ready.connect(self._on_ready)
        w.deviceKnown.connect(self._on_device)
        w.progress.connect(self._on_progress)
        w.scanFinished.connect(self._on_scan_finished)
        w.groupsReady.connect(self.duplicates.show_groups)
        w.groupingProgress.connect(self._on_grouping_progress)
        w.groupsReady.connect(self._on_groups_ready)
        w.searchReady.connect(self.search_view.show_results)
        w.searchReady.connect(self._on_search_ready)
        w.tagsReady.connect(self.tags_view.show_tags)
        w.tagPhotosReady.connect(self.tags_view.show_tag_photos)
        w.albumTagsReady.connect(self.tags_view.show_album_tags)
        w.foldersReady.connect(self._on_folders)
        w.actionDone.connect(self._on_action)
        w.failed.connect(self._on_failed)
        w.busyChanged.connect(self._on_busy)

        self.sidebar.setCurrentRow(0)
        self.stack.setCurrentWidget(self.empty_state)
        self.client.start()

    # -- pages
    @Slot(int)
    def _on_page(self, row: int) -> None:
        if row < 0:
            return
        if self._have_folders is False and PAGES[row] != "Folders":
            self.stack.setCurrentWidget(self.empty_state)
            return
        self.stack.setCurrentIndex(row)

    def show_page(self, name: str) -> None:
        self.sidebar.setCurrentRow(PAGES.index(name))

    # -- folders
    @Slot()
    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of photos")
        if folder:
            self.add_folder(folder)

    def add_folder(self, folder: str) -> None:
        folder = os.path.abspath(folder)
        self.say(f"Adding {folder}…")
        self.client.add_root(folder)

    @Slot(str)
    def remove_folder(self, folder: str) -> None:
        text = (f"Stop watching {folder}?\n\nIts photos leave mgdesk's groups, search and tags. No photo is "
                "deleted: adding the folder again brings them back.")
        if self.confirm(self, "Stop watching folder", text):
            self.client.remove_root(folder)

    @Slot()
    def rescan(self) -> None:
        self.client.scan()

    @Slot()
    def cancel_scan(self) -> None:
        self.client.cancel()
        self.say("Cancelling after the current batch…")

    # -- requests
    @Slot(str, object)
    def request_groups(self, level: str, threshold: float | None) -> None:
        self.client.groups(level, threshold)

    def refresh_results(self) -> None:
        self.duplicates.request_groups()  # through the view, which knows what an empty list means meanwhile
        self.client.tags()

    @Slot(str)
    def find_similar(self, path: str) -> None:
        self.show_page("Search")
        self.search_view.search(path)

    @Slot(str)
    def _run_search(self, path: str) -> None:
        self.client.search(path, k=40)

    @Slot(object)
    def trash_members(self, members: Sequence[MemberInfo]) -> None:
        """Nothing is removed without a confirmation that states how many files and how many MB."""
        members = list(members)
        if not members:
            return
        n = len(members)
        size = sum(m.size for m in members)
        names = "\n".join(f"  {m.path}" for m in members[:10]) + ("\n  …" if n > 10 else "")
        group = self.duplicates.current_group()
        shots = "These are other shots of the scene, not copies of the one kept.\n\n" \
            if group is not None and group.level == "similar" else ""
        text = (f"Move {n} file{'s' * (n != 1)} ({human_size(size)}) to the trash?\n\n{shots}{names}\n\n"
                "You can undo this with Ctrl+Z.")
        self.last_confirmation = text
        if self.confirm(self, "Move to trash", text):
            self.client.trash([m.path for m in members], group=[m.path for m in group.members] if group else ())
        else:
            self.say("Nothing was moved.")

    @Slot()
    def undo(self) -> None:
        self.client.undo()

    @Slot()
    def open_settings(self) -> None:
        dialog = SettingsDialog(self.settings, self)
        if dialog.exec() == SettingsDialog.DialogCode.Accepted:
            changed = dialog.apply()
            if changed:  # the worker, the views and the watcher read them when mgdesk starts
                labels = ", ".join(BY_NAME[name].label for name in changed)
                self.say(f"Settings saved ({labels}): they apply when mgdesk next starts")

    # -- worker results
    @Slot(object)
    def _on_ready(self, ready: Ready) -> None:
        if ready.device:
            self.device_label.setText(f"device: {ready.device}")
        self.say(f"Library open ({ready.model} on {ready.device})" if ready.device else
                 f"Library open ({ready.model})")
        if self._scan_on_start:
            self.client.scan()  # reconcile changes made while the app was closed
        self.refresh_results()

    @Slot(str)
    def _on_device(self, device: str) -> None:
        self.device_label.setText(f"device: {device}")

    @Slot(object)
    def _on_progress(self, p: ScanProgress) -> None:
        self.last_progress = p
        if not self.scanning:  # a scan begins: a watched folder's quick look may have nothing to say
            # (under a grouping's progress, what the line said before it)
            self._status_before_scan = self._status_before_grouping or (self.status_text.text(), self.showing_error)
        self.scanning = True
        self.duplicates.set_scanning(True)
        if p.phase == "walk":  # still finding files: the total is not known yet
            self.progress.setRange(0, 0)
            self.rate_label.setText("")
            self.eta_label.setText("")
            self.say(f"Looking for photos… {p.done} found")
        else:
            self.progress.setRange(0, max(p.total, 1))
            self.progress.setValue(min(p.done, max(p.total, 1)))
            self.rate_label.setText(f"{p.rate:.1f} images/s")
            self.eta_label.setText(format_eta(p.eta))
            doing = "Reading camera data of" if p.phase == "metadata" else "Scanning"
            self.say(f"{doing} {os.path.basename(p.path)}" if p.path else f"{doing}…")
        for widget in (self.progress, self.rate_label, self.eta_label):
            widget.show()

    _GROUPING_STAGES = {"candidates": "Finding look-alike photos", "features": "Reading local features",
                        "verify": "Verifying pairs", "scenes": "Comparing the scenes of similar shots",
                        "groups": "Listing groups"}

    @Slot(object)
    def _on_grouping_progress(self, p: GroupingStep) -> None:
        """A first grouping of a large library takes minutes: say what it is doing, with a bar."""
        if self.scanning:  # a scan's progress owns the bar
            return
        if self._status_before_grouping is None:
            self._status_before_grouping = (self.status_text.text(), self.showing_error)
        self.progress.setRange(0, max(p.total, 1))
        self.progress.setValue(min(p.done, max(p.total, 1)))
        self.progress.show()
        self.say(f"Grouping: {self._GROUPING_STAGES.get(p.stage, p.stage)}…")

    @Slot(object)
    def _on_groups_ready(self, result: GroupsResult) -> None:
        """The grouping's bar goes; the status line says again what it said before (a scan's summary)."""
        if self._status_before_grouping is not None:
            if not self.scanning:  # a scan that began meanwhile owns the bar and the line now
                self.progress.hide()
                self.say(*self._status_before_grouping)
            self._status_before_grouping = None
        if result.cancelled:
            self.say("Grouping cancelled; the pairs verified so far are kept for next time")

    @Slot(object)
    def _on_scan_finished(self, done: ScanDone) -> None:
        self._scan_ended()
        for path in (*done.changed, *(p for move in done.moves for p in move)):
            self.thumbnails.forget(path)  # its pictures in memory show what the file held before
        if done.source == "watch" and done.changes == 0:  # e.g. the app's own trash, seen by the watcher:
            if self._status_before_scan is not None:  # nothing new to say: the line says again what it said
                self.say(*self._status_before_scan)
            return
        self.search_view.refresh(dict(done.moves))
        prefix = "Scan cancelled" if done.cancelled else ("Folder changes picked up" if done.source == "watch"
                                                          else "Scan finished")
        self.say(f"{prefix}: {done.summary}")
        self.refresh_results()

    @Slot(object)
    def _on_folders(self, result: FoldersResult) -> None:
        self.folders_view.show_folders(result)
        self._folders = tuple(f.path for f in result.folders)
        have = bool(result.folders)
        first = self._have_folders is None
        changed = have != self._have_folders
        self._have_folders = have
        if changed or first:  # with no folder, every page but Folders (which can add one) says how to start
            self._on_page(self.sidebar.currentRow())
        self.client.watch_roots(self._folders)
        self.tags_view.set_albums(list(result.albums))

    @Slot(object)
    def _on_action(self, result: ActionResult) -> None:
        self.say(result.message)
        if result.kind in ("trash", "keep_all"):
            self.duplicates.forget_paths(result.paths)
        elif result.kind == "undo":
            self.duplicates.select_paths_when_shown(result.paths)
        if result.kind in ("trash", "undo", "remove_root"):
            for path in result.paths:
                self.thumbnails.forget(path)
            self.search_view.refresh()
        if result.kind in ("trash", "undo", "keep_all", "remove_root"):
            self.refresh_results()

    def _scan_ended(self) -> None:
        """A scan is over, finished or failed: its progress leaves the status bar."""
        self.scanning = False
        self.duplicates.set_scanning(False)
        for widget in (self.progress, self.rate_label, self.eta_label):
            widget.hide()

    @Slot(object)
    def _on_failed(self, error: WorkerError) -> None:
        log.warning("%s: %s", error.operation, error.message)
        if self._status_before_grouping is not None:  # a failed grouping leaves no bar behind
            if not self.scanning:  # (a scan's bar, if one runs, stays)
                self.progress.hide()
            self._status_before_grouping = None
        if error.operation == "scan":  # no scanFinished follows a failed scan
            self._scan_ended()
        elif error.operation == "search":  # no results follow: the old ones are not this query's
            self.search_view.show_failure(error.detail or error.message)
        self.say(error.message, error=True)
        self._error_operation = error.operation

    @Slot(object)
    def _on_search_ready(self, result: SearchResult) -> None:
        """A search that worked replaces the red line of one that did not (a results page under
        "Search failed" reads as if these results failed)."""
        if self.showing_error and self._error_operation == "search":
            n = len(result.hits)
            self.say(f"{n} photo{'s' * (n != 1)} like {os.path.basename(result.query)}")

    def say(self, text: str, error: bool = False) -> None:
        """The status line; an error is red for as long as it is what the line says."""
        self.status_text.setText(text)
        if error != self.showing_error:
            self.status_text.setStyleSheet("color:#c0392b;" if error else "")
            self.showing_error = error

    @Slot(bool)
    def _on_busy(self, busy: bool) -> None:
        self.busy = busy
        self.cancel_button.setVisible(busy)

    # -- drag and drop: a folder adds it, an image searches by example
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        folders = [p for p in paths if os.path.isdir(p)]
        files = [p for p in paths if os.path.isfile(p)]
        for folder in folders:
            self.add_folder(folder)
        if files and not folders:
            self.find_similar(files[0])
        event.acceptProposedAction()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.client.shutdown()
        self.thumbnails.cancel_pending()
        self.thumbnails.wait(10000)
        super().closeEvent(event)
