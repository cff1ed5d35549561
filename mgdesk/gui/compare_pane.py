"""Compare pane: the members of one group side by side at the same zoom, metadata differences highlighted."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (QCheckBox, QFrame, QGridLayout, QHBoxLayout, QLabel, QPushButton, QScrollArea,
                               QSlider, QVBoxLayout, QWidget)

from mgdesk.core.sizes import human_size
from mgdesk.gui.photo_grid import open_in_file_manager
from mgdesk.gui.thumbnails import ThumbnailLoader
from mgdesk.gui.worker import GroupInfo, MemberInfo

PREVIEW_SIZE = 768  # decoded size of compare images (off the GUI thread, cached on disk like thumbnails)
FIELDS = ("Dimensions", "File size", "Format", "Captured", "Modified", "Camera", "Folder", "Similarity")
#: fields that differ between any two files, or say nothing of the photo: never highlighted
UNCOMPARED = frozenset({"Modified", "Similarity"})
DIFF_STYLE = "background:#fff3b0; color:#222; border-radius:3px; padding:1px 3px; font-weight:bold;"
SAME_STYLE = "color:palette(text); padding:1px 3px;"
KEEP_REASON_STYLE = "color:#1e8449; font-weight:bold;"
OTHER_REASON_STYLE = "color:#666;"
REASON_LINES = 3  # every card reserves this much for its reason, so the rows below line up


def fields_for(level: str) -> tuple[str, ...]:
    """The similarity of copies is the verifier's confidence, ~1 for all: it says nothing there."""
    return FIELDS if level == "similar" else tuple(f for f in FIELDS if f != "Similarity")


def member_fields(m: MemberInfo) -> dict[str, str]:
    return {
        "Dimensions": f"{m.width} × {m.height}" if m.width and m.height else "?",
        "File size": human_size(m.size) if m.size else "?",
        "Format": (m.format or os.path.splitext(m.path)[1].lstrip(".")).upper() or "?",
        "Captured": m.captured or "—",
        "Modified": (m.modified or "—").replace("T", " "),
        "Camera": m.camera or "—",
        "Folder": m.folder,
        "Similarity": f"{m.score:.3f}",
    }


class MemberCard(QFrame):
    """One member: image, keep checkbox (pre-set to the suggestion), the reason and its metadata."""

    keepToggled = Signal()

    def __init__(self, member: MemberInfo, fields: dict[str, str], differing: set[str],
                 shown: tuple[str, ...] = FIELDS, parent=None) -> None:
        super().__init__(parent)
        self.member = member
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setObjectName("memberCard")
        layout = QVBoxLayout(self)
        self.image = QLabel("loading…")
        self.image.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom)
        layout.addWidget(self.image)
        self.name = QLabel(member.name)
        self.name.setToolTip(member.path)
        self.name.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.name)
        row = QHBoxLayout()
        self.keep = QCheckBox("Keep")
        self.keep.setChecked(member.keep)
        self.keep.toggled.connect(self._toggled)
        row.addWidget(self.keep)
        row.addStretch(1)
        self.reveal = QPushButton("Show in folder")
        self.reveal.setToolTip(f"Open the folder that holds {member.name}")
        self.reveal.clicked.connect(lambda: open_in_file_manager(member.path))
        row.addWidget(self.reveal)
        layout.addLayout(row)
        # every member says what it is: the keeper why it is suggested, the others what they are
        # to it (a duplicate, a grey or enlarged copy, a re-save, another shot)
        text = (f"Suggested: {member.reason}" if member.reason else "Suggested keeper") if member.keep \
            else member.reason
        self.reason = QLabel(text)
        self.reason.setWordWrap(True)
        self.reason.setToolTip(text)
        self.reason.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.reason.setFixedHeight(self.reason.fontMetrics().lineSpacing() * REASON_LINES)
        self.reason.setStyleSheet(KEEP_REASON_STYLE if member.keep else OTHER_REASON_STYLE)
        layout.addWidget(self.reason)
        grid = QGridLayout()
        self.values: dict[str, QLabel] = {}
        for r, name in enumerate(shown):
            grid.addWidget(QLabel(name + ":"), r, 0, Qt.AlignmentFlag.AlignTop)
            text = fields[name]
            value = QLabel(text if len(text) <= 38 else "…" + text[-37:])
            value.setToolTip(text)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setStyleSheet(DIFF_STYLE if name in differing else SAME_STYLE)
            value.setProperty("differs", name in differing)
            grid.addWidget(value, r, 1)
            self.values[name] = value
        layout.addLayout(grid)
        layout.addStretch(1)
        self._update_frame()

    def set_box(self, box: int) -> None:
        """Every card reserves the same image box, so the metadata rows line up across cards."""
        self.image.setFixedSize(box, box)
        self.setFixedWidth(max(box, 240) + 24)

    @Slot(bool)
    def _toggled(self, _checked: bool) -> None:
        self._update_frame()
        self.keepToggled.emit()

    def _update_frame(self) -> None:
        color = "#1e8449" if self.keep.isChecked() else "#c0392b"
        self.setStyleSheet(f"#memberCard {{ border: 2px solid {color}; border-radius: 6px; }}")


class ComparePane(QWidget):
    """Shows a GroupInfo; all images share one scale factor, so a half-size copy looks half the size."""

    keepChanged = Signal()

    def __init__(self, thumbnails: ThumbnailLoader, parent=None) -> None:
        super().__init__(parent)
        self._thumbs = thumbnails
        self.group: GroupInfo | None = None
        self.cards: list[MemberCard] = []
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        self.title = QLabel("Select a group to compare its photos")
        self.title.setStyleSheet("font-weight:bold;")
        bar.addWidget(self.title, 1)
        bar.addWidget(QLabel("Zoom"))
        self.zoom = QSlider(Qt.Orientation.Horizontal)
        self.zoom.setRange(10, 100)
        self.zoom.setValue(100)
        self.zoom.setFixedWidth(140)
        self.zoom.setToolTip("Same zoom for every photo in the group")
        self.zoom.valueChanged.connect(self._render_images)
        bar.addWidget(self.zoom)
        outer.addLayout(bar)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.container = QWidget()
        self.row = QHBoxLayout(self.container)
        self.row.addStretch(1)
        self.scroll.setWidget(self.container)
        outer.addWidget(self.scroll, 1)
        thumbnails.ready.connect(self._on_ready)
        thumbnails.failed.connect(self._on_failed)

    def set_group(self, group: GroupInfo | None) -> None:
        for card in self.cards:  # not setParent(None): that makes each card a window of its own,
            self.row.removeWidget(card)  # which took the focus from the keyboard review
            card.hide()
            card.deleteLater()
        self.cards = []
        while self.row.count():
            self.row.takeAt(0)
        self.group = group
        if group is None or not group.members:
            self.title.setText("Select a group to compare its photos")
            self.row.addStretch(1)
            return
        self.title.setText(f"{len(group.members)} photos · {group.level} · {human_size(group.reclaimable)} reclaimable")
        shown = fields_for(group.level)
        reference = member_fields(group.suggestion)
        # the suggested keeper first, where it is seen without scrolling; the rest as listed
        ordered = [group.suggestion] + [m for m in group.members if m is not group.suggestion]
        for member in ordered:
            f = member_fields(member)
            # highlight what differs from the suggested keeper (the keeper itself is the reference)
            differing = set() if member is group.suggestion else {
                name for name in shown if name not in UNCOMPARED and f[name] != reference[name]}
            card = MemberCard(member, f, differing, shown)
            card.keepToggled.connect(self.keepChanged)
            self.cards.append(card)
            self.row.addWidget(card, 1)
            self._thumbs.request(member.path, PREVIEW_SIZE)
        self.row.addStretch(1)
        self._render_images()

    def keep_paths(self) -> list[str]:
        return [c.member.path for c in self.cards if c.keep.isChecked()]

    def others(self) -> list[MemberInfo]:
        """Members not marked keep: what "trash the others" removes."""
        return [c.member for c in self.cards if not c.keep.isChecked()]

    def reset_to_suggestion(self) -> None:
        for c in self.cards:
            c.keep.setChecked(c.member.keep)

    def _box(self) -> int:
        # fit up to three cards side by side at 100 %; more members scroll horizontally
        n = min(3, max(1, len(self.cards)))
        avail = max(200, (self.scroll.viewport().width() - 40 * n) // n)
        return max(80, int(min(avail, self.scroll.viewport().height() - 330, PREVIEW_SIZE) * self.zoom.value() / 100))

    @Slot()
    def _render_images(self, *_args, only: str | None = None) -> None:
        """Every card's image at a common scale (sizes compare at a glance); with `only`, just the
        card of that photo (its preview arrived: the others are drawn already)."""
        if not self.cards:
            return
        box = self._box()
        longest = max(max(c.member.width, c.member.height) for c in self.cards) or 1
        scale = box / longest
        for card in self.cards:
            if only is not None and card.member.path != only:
                continue
            card.set_box(box)
            m = card.member
            pixmap = self._thumbs.pixmap(m.path, PREVIEW_SIZE, request=False)
            if pixmap is None:
                error = self._thumbs.error(m.path, PREVIEW_SIZE)
                card.image.setText(f"cannot show: {error}" if error else "loading…")
                continue
            if m.width and m.height:
                w, h = max(1, round(m.width * scale)), max(1, round(m.height * scale))
            else:
                w = h = box
            card.image.setPixmap(pixmap.scaled(w, h, Qt.AspectRatioMode.KeepAspectRatio,
                                               Qt.TransformationMode.SmoothTransformation))

    @Slot(str, int)
    def _on_ready(self, path: str, size: int) -> None:
        if size == PREVIEW_SIZE and any(c.member.path == path for c in self.cards):
            self._render_images(only=path)

    @Slot(str, int, str)
    def _on_failed(self, path: str, size: int, _msg: str) -> None:
        self._on_ready(path, size)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._render_images()
