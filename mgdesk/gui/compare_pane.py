"""Compare pane: the members of one group side by side at the same zoom, metadata differences highlighted."""

from __future__ import annotations

import os

from PySide6.QtCore import QRect, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (QCheckBox, QFrame, QGridLayout, QHBoxLayout, QLabel, QPushButton, QScrollArea,
                               QSlider, QVBoxLayout, QWidget)

from mgdesk.core.sizes import human_size
from mgdesk.gui.photo_grid import open_in_file_manager
from mgdesk.gui.thumbnails import ThumbnailLoader
from mgdesk.gui.worker import GroupInfo, MemberInfo

PREVIEW_SIZE = 768  # decoded size of compare images (off the GUI thread, cached on disk like thumbnails)
SMOOTH_DELAY_MS = 120  # while the pane is resized or zoomed: a fast stand-in at once, smooth once it holds still
FIELDS = ("Dimensions", "File size", "Format", "Captured", "Modified", "Camera", "Folder", "Similarity")
#: fields that differ between any two files, or say nothing of the photo: never highlighted
UNCOMPARED = frozenset({"Modified", "Similarity"})
DIFF_STYLE = "background:#fff3b0; color:#222; border-radius:3px; padding:1px 3px; font-weight:bold;"
SAME_STYLE = "color:palette(text); padding:1px 3px;"
KEEP_REASON_STYLE = "color:#1e8449; font-weight:bold;"
OTHER_REASON_STYLE = "color:#666;"
SPARE_CARDS = 8  # cards kept hidden beyond the ones shown, for the next group
READY_CARDS = 4  # made (a turn of the event loop each) before the first group comes: it shows at once
CARD_WIDTH = 264  # a card's width when there is room: its metadata rows fit
CARD_CHROME = 24  # a card's frame and margins around its image box
MAX_CHOICES = 1000  # groups whose Keep marks are remembered (the oldest forgotten first)
REASON_LINES = 3  # every card reserves this much for its reason, so the rows below line up
# one style sheet for every card, set once on the pane, chosen by properties: a style sheet per
# widget is parsed per widget, which made showing a group cost the GUI thread tens of milliseconds
CARDS_STYLE = f"""
#memberCard[keep="true"] {{ border: 2px solid #1e8449; border-radius: 6px; }}
#memberCard[keep="false"] {{ border: 2px solid #c0392b; border-radius: 6px; }}
QLabel[differs="true"] {{ {DIFF_STYLE} }}
QLabel[differs="false"] {{ {SAME_STYLE} }}
QLabel[reason="keep"] {{ {KEEP_REASON_STYLE} }}
QLabel[reason="other"] {{ {OTHER_REASON_STYLE} }}
"""


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


class _FittedLabel(QLabel):
    """A label that shows as much of its text as fits its size, the whole text in its tooltip;
    subclasses say how it is shortened (_fit), again at every resize."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""

    def set_full_text(self, text: str) -> None:
        self._full = text
        self.setToolTip(text)
        self._fit()

    def full_text(self) -> str:
        return self._full

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        raise NotImplementedError


class ReasonLabel(_FittedLabel):
    """A word-wrapped label of REASON_LINES lines that ends in "…" where its text does not fit
    (Qt elides one line only; a wrapped label is cut mid-sentence)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setFixedHeight(self.fontMetrics().lineSpacing() * REASON_LINES)

    def _fits(self, text: str) -> bool:
        box = QRect(0, 0, max(1, self.contentsRect().width()), 100_000)
        used = self.fontMetrics().boundingRect(box, int(Qt.TextFlag.TextWordWrap), text)
        return used.height() <= self.contentsRect().height()

    def _fit(self) -> None:
        text = self._full
        if not text or self._fits(text):
            self.setText(text)
            return
        words = text.split(" ")
        lo, hi = 0, len(words)  # the most words that fit with "…" after them
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self._fits(" ".join(words[:mid]) + "…"):
                lo = mid
            else:
                hi = mid - 1
        self.setText(" ".join(words[:lo]).rstrip(" ,;:(") + "…")


class ValueLabel(_FittedLabel):
    """One line, elided to the width it has: metadata at the start ("…/Pictures/2019"), where the
    end of a folder or a date is the telling part; a file name in the middle, keeping its end."""

    def __init__(self, parent: QWidget | None = None,
                 elide: Qt.TextElideMode = Qt.TextElideMode.ElideLeft) -> None:
        super().__init__(parent)
        self._elide = elide
        self.setMinimumWidth(1)  # the layout gives it what the card has room for, not its text's width

    def _fit(self) -> None:
        room = self.contentsRect().width()
        self.setText(self.fontMetrics().elidedText(self._full, self._elide, room) if room > 1 else self._full)


class MemberCard(QFrame):
    """One member: image, keep checkbox (pre-set to the suggestion), the reason and its metadata.

    A card is made once and shows member after member (`show_member`): making and polishing its
    widgets anew for every group shown cost the GUI thread more than anything else in the pane."""

    keepToggled = Signal()

    def __init__(self, member: MemberInfo | None = None, fields: dict[str, str] | None = None,
                 differing: set[str] = frozenset(), shown: tuple[str, ...] = FIELDS, parent=None) -> None:
        """Without a member, a blank card made ahead of need (`show_member` fills it)."""
        super().__init__(parent)
        self.member = member
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setObjectName("memberCard")
        layout = QVBoxLayout(self)
        self.image = QLabel("loading…")
        self.image.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom)
        self.image.setWordWrap(True)  # "cannot show: …" says why in full, within the box
        layout.addWidget(self.image)
        self.name = ValueLabel(elide=Qt.TextElideMode.ElideMiddle)
        self.name.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.name)
        row = QHBoxLayout()
        self.keep = QCheckBox("Keep")
        self.keep.toggled.connect(self._toggled)
        row.addWidget(self.keep)
        row.addStretch(1)
        self.reveal = QPushButton("Show in folder")
        self.reveal.clicked.connect(self._reveal)
        row.addWidget(self.reveal)
        layout.addLayout(row)
        self.reason = ReasonLabel()
        layout.addWidget(self.reason)
        grid = QGridLayout()
        grid.setColumnStretch(1, 1)  # the values take the room; the names keep to their width
        # a row for every field; those a level does not show are hidden
        self._rows: dict[str, tuple[QLabel, QLabel]] = {}
        for r, name in enumerate(FIELDS):
            label = QLabel(name + ":")
            grid.addWidget(label, r, 0, Qt.AlignmentFlag.AlignTop)
            value = ValueLabel()
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            grid.addWidget(value, r, 1)
            self._rows[name] = (label, value)
            _set_style_property(value, "differs", False)
        self.values: dict[str, QLabel] = {}  # the fields shown
        layout.addLayout(grid)
        layout.addStretch(1)
        _set_style_property(self, "keep", False)
        _set_style_property(self.reason, "reason", "other")
        if member is not None:
            self.show_member(member, fields or member_fields(member), differing, shown)

    def show_member(self, member: MemberInfo, fields: dict[str, str], differing: set[str],
                    shown: tuple[str, ...] = FIELDS) -> None:
        self.member = member
        self.name.set_full_text(member.name)
        self.name.setToolTip(member.path)
        self.set_keep(member.keep)  # pre-set, not a choice
        self.reveal.setToolTip(f"Open the folder that holds {member.name}")
        # every member says what it is: the keeper why it is suggested, the others what they are
        # to it (a duplicate, a grey or enlarged copy, a re-save, another shot)
        text = (f"Suggested: {member.reason}" if member.reason else "Suggested keeper") if member.keep \
            else member.reason
        self.reason.set_full_text(text)
        _set_style_property(self.reason, "reason", "keep" if member.keep else "other")
        self.values = {}
        for name, (label, value) in self._rows.items():
            visible = name in shown
            label.setVisible(visible)
            value.setVisible(visible)
            if not visible:
                continue
            text = fields[name]
            value.set_full_text(text)
            _set_style_property(value, "differs", name in differing)
            self.values[name] = value

    def set_box(self, box: int, width: int) -> None:
        """Every card reserves the same image box, so the metadata rows line up across cards; a
        card is at least `width` wide (room for its metadata), and wider when its box needs it."""
        self.image.setFixedSize(box, box)
        self.setFixedWidth(max(box + CARD_CHROME, width))

    def set_keep(self, checked: bool) -> None:
        """Mark Keep for the user (the suggestion, or a choice of theirs shown again): no keepToggled.
        The frame's colour follows, by CARDS_STYLE."""
        self.keep.blockSignals(True)
        self.keep.setChecked(checked)
        self.keep.blockSignals(False)
        _set_style_property(self, "keep", checked)

    @Slot(bool)
    def _toggled(self, checked: bool) -> None:
        _set_style_property(self, "keep", checked)
        self.keepToggled.emit()

    @Slot()
    def _reveal(self) -> None:
        open_in_file_manager(self.member.path)


def _set_style_property(widget: QWidget, name: str, value: object) -> None:
    """Set a property CARDS_STYLE selects on; a widget already styled is styled again (Qt does not
    watch dynamic properties)."""
    if widget.property(name) == value:
        return
    widget.setProperty(name, value)
    if widget.testAttribute(Qt.WidgetAttribute.WA_WState_Polished):
        widget.style().unpolish(widget)
        widget.style().polish(widget)
        widget.update()


class ComparePane(QWidget):
    """Shows a GroupInfo; all images share one scale factor, so a half-size copy looks half the size."""

    keepChanged = Signal()

    def __init__(self, thumbnails: ThumbnailLoader, parent=None) -> None:
        super().__init__(parent)
        self._thumbs = thumbnails
        self.group: GroupInfo | None = None
        self.cards: list[MemberCard] = []
        # per group (its key: its members), the paths the user marked Keep, so a regroup that
        # shows the group again, or a visit back to it, does not put the suggestion back
        self._choices: dict[str, frozenset[str]] = {}
        self._spare: list[MemberCard] = []  # made for an earlier group, hidden
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
        self.zoom.valueChanged.connect(self._on_geometry)
        bar.addWidget(self.zoom)
        outer.addLayout(bar)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.container = QWidget()
        self.container.setStyleSheet(CARDS_STYLE)
        self.row = QHBoxLayout(self.container)
        self.row.addStretch(1)
        self.scroll.setWidget(self.container)
        outer.addWidget(self.scroll, 1)
        # PySide6 makes the Python side of Qt's classes on first use: the first QWidget* handed back
        # from C++ (here the viewport) makes the enums of every widget class, and the first QStyle*
        # those of the styles. That is tens of milliseconds and enough new objects to set off a full
        # garbage collection, which, with the engine loaded, took over 300 ms of the GUI thread when
        # the first group was shown. Paid here instead, while the window is built and not yet shown.
        self._viewport = self.scroll.viewport()
        self.style()
        # resizing or zooming shows fast-scaled stand-ins at once and asks for the smooth previews
        # (scaled on the loader's threads) when the size has held still this long
        self._smooth = QTimer(self)
        self._smooth.setSingleShot(True)
        self._smooth.setInterval(SMOOTH_DELAY_MS)
        self._smooth.timeout.connect(self._render_images)
        thumbnails.ready.connect(self._on_ready)
        thumbnails.failed.connect(self._on_failed)
        self._ahead = QTimer(self)
        self._ahead.setSingleShot(True)
        self._ahead.timeout.connect(self._make_card_ahead)
        self._ahead.start(0)

    def set_group(self, group: GroupInfo | None) -> None:
        while self.row.count():  # the cards stay, as children of the container, for the next group
            self.row.takeAt(0)
        self.group = group
        # not setParent(None) for the cards left over: that makes each a window of its own, which
        # took the focus from the keyboard review; hidden, they wait for a larger group
        spare = self.cards + self._spare
        self.cards = []
        if group is None or not group.members:
            self._keep_spare(spare)
            self.title.setText("Select a group to compare its photos")
            self.row.addStretch(1)
            return
        shown = fields_for(group.level)
        reference = member_fields(group.suggestion)
        # the suggested keeper first, where it is seen without scrolling; the rest as listed
        ordered = [group.suggestion] + [m for m in group.members if m is not group.suggestion]
        for member in ordered:
            f = member_fields(member)
            # highlight what differs from the suggested keeper (the keeper itself is the reference)
            differing = set() if member is group.suggestion else {
                name for name in shown if name not in UNCOMPARED and f[name] != reference[name]}
            if spare:
                card = spare.pop(0)
                card.show_member(member, f, differing, shown)
            else:
                card = MemberCard(member, f, differing, shown)
                card.keepToggled.connect(self._on_keep_toggled)
            self.cards.append(card)
            self.row.addWidget(card, 1)
            card.show()
        self._keep_spare(spare)
        self.row.addStretch(1)
        chosen = self._choices.get(group.key)
        if chosen is not None:  # what the user marked in this group before (a regroup, or back to it)
            for card in self.cards:
                card.set_keep(card.member.path in chosen)
        self._update_title()
        self._render_images()

    def _update_title(self) -> None:
        """What trashing the unmarked photos would free: the suggestion's figure until the user marks
        others, then theirs (as the Trash button says)."""
        group = self.group
        if group is None:
            return
        marked = self._choices.get(group.key)
        freed = group.reclaimable if marked is None else sum(m.size for m in self.others())
        whose = "" if marked is None else " as marked"
        self.title.setText(f"{len(group.members)} photos · {group.level} · {human_size(freed)} reclaimable{whose}")

    @Slot()
    def _on_keep_toggled(self) -> None:
        if self.group is not None:
            self._choices.pop(self.group.key, None)  # and in again, as the most recent
            self._choices[self.group.key] = frozenset(self.keep_paths())
            while len(self._choices) > MAX_CHOICES:
                del self._choices[next(iter(self._choices))]
            self._update_title()
        self.keepChanged.emit()

    @Slot()
    def _make_card_ahead(self) -> None:
        """Cards are made while nothing is shown, one per turn of the event loop (a few ms each),
        so that the first group, often just as a scan ends, shows without making any."""
        if self.cards or len(self._spare) >= READY_CARDS:
            return
        card = MemberCard(parent=self.container)
        card.hide()
        card.keepToggled.connect(self._on_keep_toggled)
        card.ensurePolished()  # its style sheet applied now, not when the first group is shown
        self._spare.append(card)
        self._ahead.start(0)

    def _keep_spare(self, cards: list[MemberCard]) -> None:
        """Hide the cards no member needs; keep a few for the next group, delete the rest."""
        for card in cards:
            card.hide()
        self._spare = cards[:SPARE_CARDS]
        for card in cards[SPARE_CARDS:]:
            card.deleteLater()

    def keep_paths(self) -> list[str]:
        return [c.member.path for c in self.cards if c.keep.isChecked()]

    def others(self) -> list[MemberInfo]:
        """Members not marked keep: what "trash the others" removes."""
        return [c.member for c in self.cards if not c.keep.isChecked()]

    def reset_to_suggestion(self) -> None:
        for c in self.cards:
            c.set_keep(c.member.keep)
        if self.group is not None:
            self._choices.pop(self.group.key, None)
            self._update_title()
        self.keepChanged.emit()

    def _card_width(self) -> int:
        """The room for each card when up to three fit side by side (more members scroll): a card
        is never made wider than this for its metadata (CARD_WIDTH), so three fit in a narrow pane."""
        n = min(3, max(1, len(self.cards)))
        margins = self.row.contentsMargins()
        room = self._viewport.width() - margins.left() - margins.right() - self.row.spacing() * (n - 1)
        return max(80 + CARD_CHROME, room // n)

    def _box(self) -> int:
        avail = self._card_width() - CARD_CHROME
        return max(80, int(min(avail, self._viewport.height() - 330, PREVIEW_SIZE) * self.zoom.value() / 100))

    @Slot()
    def _render_images(self, *_args, only: str | None = None, request: bool = True) -> None:
        """Every card's image at a common scale (sizes compare at a glance); with `only`, just the
        card of that photo (its preview arrived: the others are drawn already).

        The GUI thread scales nothing smoothly: each preview is asked of the loader at the size it is
        shown at, scaled on its threads. Until it arrives, the last one made of that photo stands in,
        scaled fast. With `request` False (while resizing or zooming) nothing is asked yet."""
        if not self.cards:
            return
        box, width = self._box(), min(self._card_width(), CARD_WIDTH)
        longest = max(max(c.member.width, c.member.height) for c in self.cards) or 1
        scale = box / longest
        for card in self.cards:
            if only is not None and card.member.path != only:
                continue
            card.set_box(box, width)
            m = card.member
            if m.width and m.height:
                w, h = max(1, round(m.width * scale)), max(1, round(m.height * scale))
            else:
                w = h = box
            pixmap = self._thumbs.pixmap(m.path, PREVIEW_SIZE, fit=(w, h), request=request)
            if pixmap is not None:
                card.image.setPixmap(pixmap)
                continue
            error = self._thumbs.error(m.path, PREVIEW_SIZE)
            stand_in = None if error else self._thumbs.stand_in(m.path, PREVIEW_SIZE)
            if stand_in is not None:
                card.image.setPixmap(stand_in.scaled(w, h, Qt.AspectRatioMode.KeepAspectRatio,
                                                     Qt.TransformationMode.FastTransformation))
            else:
                card.image.setText(f"cannot show: {error}" if error else "loading…")

    @Slot(int)
    def _on_geometry(self, _zoom: int = 0) -> None:
        """Resized or zoomed: stand-ins now, the smooth previews once the size holds still."""
        self._render_images(request=False)
        self._smooth.start()

    @Slot(str, int)
    def _on_ready(self, path: str, size: int) -> None:
        if size == PREVIEW_SIZE and any(c.member.path == path for c in self.cards):
            # a preview of a size left meanwhile asks for the current one, unless a resize will
            self._render_images(only=path, request=not self._smooth.isActive())

    @Slot(str, int, str)
    def _on_failed(self, path: str, size: int, _msg: str) -> None:
        self._on_ready(path, size)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._on_geometry()
