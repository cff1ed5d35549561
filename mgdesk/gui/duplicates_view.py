"""Duplicates view: groups sorted by reclaimable size, level filter, live similarity slider, compare pane, actions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from PySide6.QtCore import QItemSelection, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (QApplication, QComboBox, QHBoxLayout, QLabel, QListView, QPushButton, QSlider, QSplitter,
                               QStyledItemDelegate, QStyleOptionViewItem, QVBoxLayout, QWidget)

from mgdesk.gui.compare_pane import ComparePane
from mgdesk.gui.item_models import GroupItemModel, human_size
from mgdesk.gui.thumbnails import ThumbnailLoader
from mgdesk.gui.worker import GroupInfo, GroupsResult, MemberInfo, group_key

LEVELS = ("exact", "copy", "similar")


class _GroupDelegate(QStyledItemDelegate):
    """Thumbnails in a fixed square box, so every row's text starts at the same x."""

    def initStyleOption(self, option: QStyleOptionViewItem, index) -> None:  # noqa: N802
        super().initStyleOption(option, index)
        option.decorationSize = QSize(96, 96)

    def sizeHint(self, option: QStyleOptionViewItem, index) -> QSize:  # noqa: N802
        """No wider than the list: a long name is elided, not scrolled to sideways."""
        hint = super().sizeHint(option, index)
        view = self.parent()
        return QSize(min(hint.width(), max(1, view.viewport().width() - 2 * view.spacing())), hint.height())


class _GroupList(QListView):
    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self.scheduleDelayedItemsLayout()  # rows take the new width (the size of one row is cached)


class DuplicatesView(QWidget):
    """Review flow: J/K or arrows move between groups, Enter keeps the suggestion, Delete trashes the
    unchecked members, Ctrl+Z undoes (the main window owns the Undo action)."""

    regroupRequested = Signal(str, object)  # level, threshold (float | None)
    trashRequested = Signal(object)  # tuple[MemberInfo, ...] to remove
    keepAllRequested = Signal(str)  # group key

    def __init__(self, thumbnails: ThumbnailLoader, *, level: str = "copy", threshold: float = 0.80,
                 parent=None) -> None:
        super().__init__(parent)
        self.model = GroupItemModel(thumbnails, size=96, parent=self)
        self._generation_shown = 0
        self._select_paths: frozenset[str] = frozenset()  # undo put these back: show their group

        bar = QHBoxLayout()
        bar.addWidget(QLabel("Level"))
        self.level = QComboBox()
        self.level.addItems(LEVELS)
        self.level.setCurrentText(level if level in LEVELS else "copy")
        self.level.setToolTip("exact: same bytes · copy: the same photo, edited or resized · similar: same scene")
        bar.addWidget(self.level)
        bar.addSpacing(12)
        bar.addWidget(QLabel("Similarity"))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(30, 99)
        self.slider.setValue(int(round(threshold * 100)))
        self._slider_moved = False  # until the user moves it, the engine's own threshold applies
        self.slider.setFixedWidth(180)
        self.slider.setToolTip("Threshold for the similar level; groups are recomputed as you move it")
        bar.addWidget(self.slider)
        self.slider_value = QLabel()
        self.slider_value.setMinimumWidth(36)
        bar.addWidget(self.slider_value)
        bar.addStretch(1)
        self.summary = QLabel("Finding groups…")
        bar.addWidget(self.summary)
        # until the groups of the level shown arrive, an empty list means "not yet", not "none"
        self._waiting = True
        self._scanning = False
        self._cancelled = False

        self.list = _GroupList()
        self.list.setModel(self.model)
        self.list.setIconSize(QSize(96, 96))
        self.list.setItemDelegate(_GroupDelegate(self.list))
        self.list.setUniformItemSizes(True)
        self.list.setWordWrap(True)
        self.list.setSpacing(2)
        self.list.setMinimumWidth(260)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.list.setAlternatingRowColors(True)
        self.list.selectionModel().selectionChanged.connect(self._on_selection)
        self.setFocusProxy(self.list)  # the page taking focus puts the keyboard on the groups

        self.compare = ComparePane(thumbnails)
        # short labels, keys in the tooltips: the row must fit a 1366 px laptop screen beside the list
        buttons = QHBoxLayout()
        self.keep_button = QPushButton("Keep suggested, trash others")
        self.keep_button.setToolTip("Keep the suggested photo and move the others to the trash, after "
                                    "asking (Enter)")
        self.trash_button = QPushButton("Trash unchecked")
        self.trash_button.setToolTip("Move the photos not marked Keep to the trash, after asking (Delete)")
        self.keep_all_button = QPushButton("Not duplicates")
        self.keep_all_button.setToolTip("Keep every photo of this group: they are never grouped again "
                                        "(Ctrl+Z takes it back)")
        self.undo_button = QPushButton("Undo")
        self.undo_button.setToolTip("Take back the last action: put trashed photos back, or lift the last "
                                    "\u201cNot duplicates\u201d (Ctrl+Z)")
        for b in (self.keep_button, self.trash_button, self.keep_all_button, self.undo_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.compare, 1)
        right_layout.addLayout(buttons)

        self.empty = QLabel()
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty.setStyleSheet("color:gray; font-size:14px;")

        splitter = QSplitter()
        splitter.addWidget(self.list)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([300, 900])
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.empty)
        layout.addWidget(splitter, 1)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(200)
        self._debounce.timeout.connect(self._emit_regroup)
        self.level.currentTextChanged.connect(self._on_level)
        self.slider.valueChanged.connect(self._on_slider)
        self.keep_button.clicked.connect(self.keep_suggestion)
        self.trash_button.clicked.connect(self.trash_unchecked)
        self.keep_all_button.clicked.connect(self.keep_all)
        self.compare.keepChanged.connect(self._update_buttons)

        for keys, slot in ((("J", "Down"), self.next_group), (("K", "Up"), self.previous_group),
                           (("Return", "Enter"), self.keep_suggestion), (("Delete",), self.trash_unchecked)):
            for key in keys:
                shortcut = QShortcut(QKeySequence(key), self)
                shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
                shortcut.activated.connect(slot)
        self._on_slider(self.slider.value(), emit=False)
        self._update_buttons()
        self._update_empty()
        self._name_keep_button()

    # -- state
    @property
    def threshold(self) -> float | None:
        if self.level.currentText() != "similar" or not self._slider_moved:
            return None
        return self.slider.value() / 100.0

    def current_group(self) -> GroupInfo | None:
        rows = self.list.selectionModel().selectedRows()
        return self.model.group(rows[0].row()) if rows else None

    def current_row(self) -> int:
        rows = self.list.selectionModel().selectedRows()
        return rows[0].row() if rows else -1

    def request_groups(self) -> None:
        self._emit_regroup()

    @Slot(object)
    def show_groups(self, result: GroupsResult) -> None:
        if result.level != self.level.currentText():
            return  # a late answer for the level left: the one asked for follows
        if result.cancelled:  # none: the list shown stays, or says why it is empty
            self._cancelled, self._waiting = self._waiting, False
            self._update_empty()
            return
        if result.generation < self._generation_shown:
            return  # a late answer to an older slider position
        self._generation_shown = result.generation
        self._waiting = self._cancelled = False
        previous = self.current_group()
        row = self._set_groups(result.groups, keep_key=previous.key if previous else None,
                               keep_row=max(self.current_row(), 0))
        if self._select_paths:
            row = next((i for i, g in enumerate(self.model.groups())
                        if self._select_paths & {m.path for m in g.members}), row)
            self._select_paths = frozenset()
        self._show_row(row)

    def forget_paths(self, paths: Iterable[str]) -> None:
        """What an action just moved or decided leaves the list at once, so nothing offers files
        that are gone or a decision already made until the regroup that follows arrives. A group
        left with two or more members stays with those (the regroup brings it back: dropping it
        made the list lose a group, then gain it again). When the current group was acted on,
        the next one takes its place."""
        gone = set(paths)
        current = self.current_group()
        groups: list[GroupInfo] = []
        changed = current_stays = False
        for g in self.model.groups():
            if not gone & {m.path for m in g.members}:
                groups.append(g)
                continue
            changed = True
            left = _without(g, gone)
            if left is not None:
                groups.append(left)
                current_stays |= g is current
        if not changed:
            return
        keep = None if current is None or current not in groups else current.key
        row = max(self.current_row(), 0) + current_stays  # past what is left of the current group
        self._show_row(self._set_groups(groups, keep_key=keep, keep_row=row))

    def select_paths_when_shown(self, paths: Iterable[str]) -> None:
        """After an undo, the group holding what came back is the one to look at."""
        self._select_paths = frozenset(paths)

    def _set_groups(self, groups: Sequence[GroupInfo], *, keep_key: str | None, keep_row: int) -> int | None:
        """Show `groups`; the row to select: the group of `keep_key`, else the one now at `keep_row`."""
        self.model.set_groups(groups)
        total = sum(g.reclaimable for g in groups)
        n = len(groups)
        self.summary.setText(f"{n} group{'s' * (n != 1)} · {human_size(total)} reclaimable")
        self._update_empty()
        row = self.model.row_of_key(keep_key) if keep_key else None
        return min(keep_row, n - 1) if row is None and n else row

    def _show_row(self, row: int | None) -> None:
        if row is not None:
            self.select_row(row)
        else:
            self.compare.set_group(None)
        self._update_buttons()

    def set_scanning(self, scanning: bool) -> None:
        """While a scan runs, an empty list means "not yet", not "none"."""
        self._scanning = scanning
        self._update_empty()

    def _update_empty(self) -> None:
        """The empty list's message: what it is waiting for, or that there is nothing."""
        if self._waiting:
            text = (f"Finding {self.level.currentText()} groups… The first time, in a large library, this "
                    "takes minutes (the status bar shows how far it is).")
        elif self._cancelled:
            text = "Grouping cancelled: what was verified is kept for next time. Choose a level to go on."
        elif self._scanning:
            text = "Scanning… groups appear when the scan finishes."
        else:
            text = "No duplicate groups at this level."
        self.empty.setText(text)
        self.empty.setVisible(self.model.rowCount() == 0)

    def set_generation_floor(self, generation: int) -> None:
        self._generation_shown = min(self._generation_shown, generation)

    def select_row(self, row: int) -> None:
        if 0 <= row < self.model.rowCount():
            index = self.model.index(row, 0)
            self.list.setCurrentIndex(index)
            self.list.scrollTo(index)

    # -- actions
    @Slot()
    def next_group(self) -> None:
        self.select_row(min(self.current_row() + 1, self.model.rowCount() - 1))

    @Slot()
    def previous_group(self) -> None:
        self.select_row(max(self.current_row() - 1, 0))

    @Slot()
    def keep_suggestion(self) -> None:
        self.compare.reset_to_suggestion()
        self.trash_unchecked()

    @Slot()
    def trash_unchecked(self) -> None:
        group = self.current_group()
        if group is None:
            return
        others = tuple(self.compare.others())
        if not others or len(others) == len(group.members):
            return  # nothing to remove, or it would remove the whole group: keep at least one
        self.trashRequested.emit(others)

    @Slot()
    def keep_all(self) -> None:
        group = self.current_group()
        if group is not None:
            self.keepAllRequested.emit(group.key)

    # -- internals
    @Slot(QItemSelection, QItemSelection)
    def _on_selection(self, *_args) -> None:
        group, shown = self.current_group(), self.compare.group
        focus = QApplication.focusWidget()
        if focus is not None and self.compare.isAncestorOf(focus) and \
                (group is None or shown is None or group.key != shown.key):
            # a card's Keep box keeps the keyboard as its card shows the next group's photo: a
            # Space meant for one photo would mark another. The review goes on from the list
            self.list.setFocus()
        self.compare.set_group(group)
        self._update_buttons()

    @Slot()
    def _update_buttons(self) -> None:
        group = self.current_group()
        others = self.compare.others() if group else []
        can_trash = bool(group) and 0 < len(others) < len(group.members)
        self.trash_button.setEnabled(can_trash)
        self.keep_button.setEnabled(bool(group))
        self.keep_all_button.setEnabled(bool(group))
        self.trash_button.setText(f"Trash {len(others)} unchecked ({human_size(sum(m.size for m in others))})"
                                  if group else "Trash unchecked")

    @Slot(str)
    def _on_level(self, level: str) -> None:
        """Another level's groups take a while the first time: the old level's leave at once
        (acting on them meanwhile would act on what is no longer shown)."""
        self.slider.setEnabled(level == "similar")
        self._name_keep_button()
        self.model.set_groups([])
        self.compare.set_group(None)
        self.summary.setText("Finding groups…")
        self._update_buttons()
        self._emit_regroup()

    def _name_keep_button(self) -> None:
        """At the similar level the others are other shots, not copies: the button says so."""
        self.keep_button.setText("Keep suggested shot, trash others" if self.level.currentText() == "similar"
                                 else "Keep suggested, trash others")

    @Slot(int)
    def _on_slider(self, value: int, emit: bool = True) -> None:
        self.slider_value.setText(f"{value / 100:.2f}")
        self.slider.setEnabled(self.level.currentText() == "similar")
        if emit:
            self._slider_moved = True
            self._debounce.start()

    @Slot()
    def _emit_regroup(self) -> None:
        if self.model.rowCount() == 0:  # nothing shown: until the answer, it is "not yet"
            self._waiting, self._cancelled = True, False
            self._update_empty()
        self.regroupRequested.emit(self.level.currentText(), self.threshold)


def _without(group: GroupInfo, gone: set[str]) -> GroupInfo | None:
    """The group less the members in `gone`, or None when fewer than two are left. The keep
    suggestion stays where it was; when it went, the regroup names another."""
    members = tuple(m for m in group.members if m.path not in gone)
    if len(members) < 2:
        return None
    return GroupInfo(group_key(m.path for m in members), group.level, members,
                     sum(m.size for m in members if not m.keep))


def members_size(members: tuple[MemberInfo, ...]) -> int:
    return sum(m.size for m in members)
