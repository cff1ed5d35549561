"""The compare pane: previews arrive upright at the size they are shown at (one scale for the whole group),
zooming shows the new size at once and the smooth preview after, and cards made once show group after group."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QMainWindow

from mgdesk.core.imaging import LoadFailure, read_info
from mgdesk.core.sizes import human_size
from mgdesk.gui.compare_pane import ComparePane
from mgdesk.gui.thumbnails import ThumbnailLoader
from mgdesk.gui.worker import GroupInfo, MemberInfo

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
ORIENTATION = SHARED / "formats" / "orientation"
PHOTO = SHARED / "photos" / "bsd100_img_003.jpg"


def member(path: Path, keep: bool = False, reason: str = "") -> MemberInfo:
    info = read_info(path)  # upright width and height, as the worker gives them
    return MemberInfo(path=str(path), keep=keep, reason=reason, size=path.stat().st_size, width=info.width,
                      height=info.height, format=info.format, modified="2024-05-01T10:00:00")


def group(level: str, *members: MemberInfo) -> GroupInfo:
    return GroupInfo(key="|".join(m.path for m in members), level=level, members=members, reclaimable=1)


class Counter(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    @Slot()
    def hit(self) -> None:
        self.count += 1


@pytest.fixture
def pane(qtbot):
    if not SHARED.exists():
        pytest.skip("shared data not available")
    loader = ThumbnailLoader(threads=2)
    pane = ComparePane(loader)
    window = QMainWindow()
    window.setCentralWidget(pane)
    window.resize(1300, 900)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    yield pane
    loader.wait()


def shown(pane: ComparePane) -> bool:
    return all(not c.image.pixmap().isNull() for c in pane.cards)


def pixels(image: QImage) -> Image.Image:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    return Image.frombytes("RGB", (image.width(), image.height()), bytes(image.constBits()), "raw", "RGB",
                           image.bytesPerLine())


def test_previews_arrive_upright_at_one_scale_for_the_whole_group(qtbot, pane, tmp_path):
    half = tmp_path / "half.jpg"
    with Image.open(PHOTO) as im:
        im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS).save(half, quality=90)
    stored_rotated = ORIENTATION / "Portrait_6.jpg"  # pixels stored landscape, EXIF says rotate
    stored_upright = ORIENTATION / "Portrait_1.jpg"  # the same picture, stored upright
    pane.set_group(group("copy", member(stored_upright, keep=True), member(stored_rotated)))
    qtbot.waitUntil(lambda: shown(pane), timeout=30_000)
    upright, rotated = (c.image.pixmap() for c in pane.cards)
    box = pane.cards[0].image.width()  # every card reserves the same square box
    assert rotated.height() == box and rotated.width() < rotated.height()
    assert rotated.size() == upright.size()
    a, b = pixels(upright.toImage()), pixels(rotated.toImage())
    diff = sum(abs(x - y) for x, y in zip(a.tobytes(), b.tobytes())) / len(a.tobytes())
    assert diff < 12, diff  # the same picture, the same way up

    pane.set_group(group("copy", member(PHOTO, keep=True), member(half)))
    qtbot.waitUntil(lambda: shown(pane), timeout=30_000)
    full, halved = (c.image.pixmap() for c in pane.cards)
    box = pane.cards[0].image.width()
    assert max(full.width(), full.height()) == box  # the largest fills the box
    assert abs(halved.width() - full.width() / 2) <= 1 and abs(halved.height() - full.height() / 2) <= 1


def test_zooming_shows_the_new_size_at_once_and_the_smooth_preview_after(qtbot, pane):
    pane.set_group(group("copy", member(ORIENTATION / "Landscape_1.jpg", keep=True), member(PHOTO)))
    qtbot.waitUntil(lambda: shown(pane), timeout=30_000)
    before = pane.cards[0].image.pixmap().size()
    pane.zoom.setValue(50)
    stand_in = pane.cards[0].image.pixmap()  # at once: the preview there was, scaled fast
    box = pane.cards[0].image.width()
    assert box < max(before.width(), before.height())
    assert box - 1 <= stand_in.width() <= box  # the largest photo fills the box (to a pixel's rounding)
    qtbot.waitUntil(lambda: pane.cards[0].image.pixmap().cacheKey() != stand_in.cacheKey(), timeout=30_000)
    smooth = pane.cards[0].image.pixmap()
    assert box - 1 <= smooth.width() <= box and abs(smooth.height() - stand_in.height()) <= 1


def test_cards_show_group_after_group_with_their_own_marks(qtbot, pane, tmp_path):
    copies = []
    for i, quality in enumerate((60, 40)):
        copies.append(tmp_path / f"copy{i}.jpg")
        with Image.open(PHOTO) as im:
            im.save(copies[-1], quality=quality)
    keeper = member(PHOTO, keep=True, reason="best quality")
    similar = group("similar", keeper, member(copies[0], reason="re-save"), member(copies[1], reason="re-save"))
    changed = Counter()
    pane.keepChanged.connect(changed.hit)
    pane.set_group(similar)
    assert [c.member.path for c in pane.cards] == [m.path for m in similar.members]
    assert "Similarity" in pane.cards[1].values
    assert pane.cards[1].values["File size"].property("differs")

    other = tmp_path / "other.jpg"
    shutil.copy(ORIENTATION / "Landscape_1.jpg", other)
    copy = group("copy", member(other, reason="duplicate"), member(ORIENTATION / "Landscape_1.jpg", keep=True))
    pane.set_group(copy)
    cards = pane.cards
    assert [c.member.name for c in cards] == ["Landscape_1.jpg", "other.jpg"]  # the suggested keeper first
    assert sum(c.isVisible() for c in pane.container.findChildren(type(cards[0]))) == 2
    assert cards[0].keep.isChecked() and not cards[1].keep.isChecked()
    assert cards[0].property("keep") is True and cards[1].property("keep") is False
    assert cards[0].reason.text() == "Suggested keeper"
    assert cards[1].reason.text() == "duplicate" and cards[1].name.text() == "other.jpg"
    assert "Similarity" not in cards[1].values and not cards[1].values["File size"].property("differs")
    assert changed.count == 0  # showing a group is no choice of the user's

    cards[1].keep.setChecked(True)
    assert changed.count == 1 and cards[1].property("keep") is True
    assert pane.keep_paths() == [m.path for m in reversed(copy.members)]


def test_a_file_that_cannot_be_decoded_says_why_in_its_card(qtbot, pane, tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff garbage")
    good = member(PHOTO, keep=True)
    pane.set_group(group("copy", good, MemberInfo(path=str(bad), size=20, width=good.width, height=good.height)))
    qtbot.waitUntil(lambda: pane.cards[1].image.text().startswith("cannot show:"), timeout=30_000)
    text = pane.cards[1].image.text()
    assert str(bad) not in text and text.split(": ", 1)[1].split(" (")[0] in {r.label for r in LoadFailure}, text
    qtbot.waitUntil(lambda: not pane.cards[0].image.pixmap().isNull(), timeout=30_000)


def test_a_reason_too_long_for_its_card_ends_in_an_ellipsis_and_the_tooltip_has_it_all(pane, tmp_path, qtbot):
    long = ("largest resolution: 2048×1536 (a larger copy only adds a frame around the photo); then least "
            "edited: agrees with its copies in 100% of the photo, and its brightness and contrast match its "
            "copies (not weighed: u001_gray_thumb.jpg is a grey copy of u001_auto_enhance.jpg)")
    copy = tmp_path / "copy.jpg"
    shutil.copy(PHOTO, copy)
    pane.set_group(group("copy", member(PHOTO, keep=True, reason=long), member(copy, reason="duplicate")))
    keeper, other = pane.cards
    qtbot.waitUntil(lambda: keeper.reason.text().endswith("…"), timeout=5_000)
    shown = keeper.reason.text()
    assert ("Suggested: " + long).startswith(shown[:-1].rstrip()) and len(shown) < len(long)
    assert keeper.reason.toolTip() == "Suggested: " + long
    assert other.reason.text() == "duplicate"  # what fits is shown whole


def test_keep_marks_the_user_made_come_back_with_the_group_and_enter_puts_the_suggestion_back(pane, tmp_path):
    copies = []
    for quality in (70, 50):
        copies.append(tmp_path / f"q{quality}.jpg")
        with Image.open(PHOTO) as im:
            im.save(copies[-1], quality=quality)
    first = (member(PHOTO, keep=True), member(copies[0]), member(copies[1]))
    pane.set_group(group("copy", *first))
    changed = Counter()
    pane.keepChanged.connect(changed.hit)
    pane.cards[1].keep.setChecked(True)  # keep two
    assert changed.count == 1
    freed = copies[1].stat().st_size  # only the other copy goes now
    assert pane.title.text().endswith(f"{human_size(freed)} reclaimable as marked")
    other = tmp_path / "other.jpg"
    shutil.copy(ORIENTATION / "Landscape_1.jpg", other)
    pane.set_group(group("copy", member(ORIENTATION / "Landscape_1.jpg", keep=True), member(other)))
    assert pane.keep_paths() == [str(ORIENTATION / "Landscape_1.jpg")]  # not carried to another group
    pane.set_group(group("copy", *first))  # back to it, or a regroup showing it again
    assert sorted(pane.keep_paths()) == sorted([str(PHOTO), str(copies[0])]) and changed.count == 1
    assert pane.cards[1].property("keep") is True  # its frame says so too
    pane.reset_to_suggestion()
    assert pane.title.text().endswith("reclaimable")
    pane.set_group(group("copy", *first))
    assert pane.keep_paths() == [str(PHOTO)]


def test_a_long_file_name_is_elided_in_the_middle_on_its_card(pane, tmp_path):
    long = tmp_path / ("IMG_20190704_holiday_in_the_mountains_with_the_whole_family_" + "x" * 40 + ".jpg")
    shutil.copy(PHOTO, long)
    pane.set_group(group("copy", member(PHOTO, keep=True), member(long)))
    name = pane.cards[1].name
    assert "…" in name.text() and name.text().endswith("xxx.jpg") and name.text().startswith("IMG_2019")
    assert name.full_text() == long.name and name.toolTip() == str(long)


def test_three_cards_fit_side_by_side_in_a_narrow_pane(pane, qtbot, tmp_path):
    window = pane.window()
    window.resize(820, 800)
    copies = []
    for quality in (70, 50):
        copies.append(tmp_path / f"q{quality}.jpg")
        with Image.open(PHOTO) as im:
            im.save(copies[-1], quality=quality)
    pane.set_group(group("copy", member(PHOTO, keep=True), member(copies[0]), member(copies[1])))
    qtbot.waitUntil(lambda: pane.container.width() > 0)
    qtbot.wait(50)
    viewport = pane.scroll.viewport().width()
    right = max(c.geometry().right() for c in pane.cards)
    assert right < viewport and not pane.scroll.horizontalScrollBar().isVisible(), (right, viewport)
    folder = pane.cards[1].values["Folder"]  # a long folder shows its end, whole in the tooltip
    assert folder.text().startswith("…") and str(tmp_path).endswith(folder.text()[1:])
    assert folder.toolTip() == str(tmp_path)
