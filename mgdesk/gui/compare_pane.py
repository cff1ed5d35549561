"""Compare pane: the members of one group side by side at the same zoom, metadata differences highlighted."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (QCheckBox, QFrame, QGridLayout, QHBoxLayout, QLabel, QScrollArea, QSlider,
                               QVBoxLayout, QWidget)

from mgdesk.gui.item_models import human_size
from mgdesk.gui.photo_grid import open_in_file_manager
from mgdesk.gui.thumbnails import ThumbnailLoader
from mgdesk.gui.worker import GroupInfo, MemberInfo

PREVIEW_SIZE = 768  # decoded size of compare images (off the GUI thread, cached on disk like thumbnails)
FIELDS = ("Dimensions", "File size", "Format", "Captured", "Camera", "Folder", "Similarity")
DIFF_STYLE = "background:#fff3b0; color:#222; border-radius:3px; padding:1px 3px; font-weight:bold;"
SAME_STYLE = "color:palette(text); padding:1px 3px;"


def member_fields(m: MemberInfo) -> dict[str, str]:
    return {
        "Dimensions": f"{m.width} × {m.height}" if m.width and m.height else "?",
        "File size": human_size(m.size) if m.size else "?",
        "Format": (m.format or os.path.splitext(m.path)[1].lstrip(".")).upper() or "?",
        "Captured": m.captured or "—",
        "Camera": m.camera or "—",
        "Folder": m.folder,
        "Similarity": f"{m.score:.3f}",
    }


class MemberCard(QFrame):
    """One member: image, keep checkbox (pre-set to the suggestion), the reason and its metadata."""

    keepToggled = Signal()

    def __init__(self, member: MemberInfo, fields: dict[str, str], differing: set[str], parent=None) -> None:
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
        self.keep = QCheckBox("Keep")
        self.keep.setChecked(member.keep)
        self.keep.toggled.connect(self._toggled)
        layout.addWidget(self.keep)
        self.reason = QLabel(f"Suggested: {member.reason}" if member.keep and member.reason else
                             ("Suggested keeper" if member.keep else ""))
        self.reason.setWordWrap(True)
        self.reason.setStyleSheet("color:#1e8449; font-weight:bold;")
        layout.addWidget(self.reason)
        grid = QGridLayout()
        self.values: dict[str, QLabel] = {}
        for row, name in enumerate(FIELDS):
            grid.addWidget(QLabel(name + ":"), row, 0, Qt.AlignmentFlag.AlignTop)
            text = fields[name]
            value = QLabel(text if len(text) <= 38 else "…" + text[-37:])
            value.setToolTip(text)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setStyleSheet(DIFF_STYLE if name in differing else SAME_STYLE)
            value.setProperty("differs", name in differing)
            grid.addWidget(value, row, 1)
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
        for card in self.cards:
            card.setParent(None)
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
        fields = [member_fields(m) for m in group.members]
        reference = fields[group.members.index(group.suggestion)]
        for member, f in zip(group.members, fields):
            # highlight what differs from the suggested keeper (the keeper itself is the reference)
            differing = set() if member is group.suggestion else {
                name for name in FIELDS if name != "Similarity" and f[name] != reference[name]}
            card = MemberCard(member, f, differing)
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

    def reveal_selected(self) -> None:
        if self.cards:
            open_in_file_manager(self.cards[0].member.path)

    def _box(self) -> int:
        # fit up to three cards side by side at 100 %; more members scroll horizontally
        n = min(3, max(1, len(self.cards)))
        avail = max(200, (self.scroll.viewport().width() - 40 * n) // n)
        return max(80, int(min(avail, self.scroll.viewport().height() - 330, PREVIEW_SIZE) * self.zoom.value() / 100))

    @Slot()
    def _render_images(self, *_args) -> None:
        if not self.cards:
            return
        box = self._box()
        longest = max(max(c.member.width, c.member.height) for c in self.cards) or 1
        scale = box / longest
        for card in self.cards:
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
            self._render_images()

    @Slot(str, int, str)
    def _on_failed(self, path: str, size: int, _msg: str) -> None:
        self._on_ready(path, size)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._render_images()
