"""The real main window, offscreen, driving a real Library through the worker thread."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Slot

from mgdesk.core.sizes import human_size
from mgdesk.gui.item_models import PathRole
from mgdesk.gui.worker import GroupInfo

PHOTOS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "photos"
BASES = ("bsd100_img_003.jpg", "urban100_img_010.jpg", "set14_img_005.jpg")  # as in conftest.photo_folder


def group_paths(window) -> list[set[str]]:
    return [{os.path.basename(m.path) for m in g.members} for g in window.duplicates.model.groups()]


def accept_and_record(window) -> list[str]:
    """Replace the confirmation dialog: answer yes, remember what the user would have been asked."""
    asked: list[str] = []

    def confirm(_parent, _title, text):
        asked.append(text)
        return True

    window.confirm = confirm
    return asked


def press_delete(qtbot, wait_for, window):
    """The review key that trashes the current group's unchecked photos; returns the action's catcher."""
    window.duplicates.list.setFocus()
    with wait_for(window.client.worker.actionDone, timeout=60_000) as done:
        qtbot.keyClick(window.duplicates.list, Qt.Key.Key_Delete)
    return done


def press_undo(qtbot, wait_for, window):
    """Ctrl+Z on the window; returns the action's catcher."""
    with wait_for(window.client.worker.actionDone, timeout=60_000) as undone:
        qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    return undone


def test_first_run_shows_an_empty_state_inviting_to_add_a_folder(window):
    assert window.stack.currentWidget() is window.empty_state
    assert window.empty_state.button.isVisible()
    assert "folder" in window.empty_state.button.text().lower()


def test_the_window_carries_the_app_icon(window):
    assert not window.windowIcon().isNull()
    assert not window.windowIcon().pixmap(64, 64).isNull()  # the SVG renders


def test_the_library_lives_in_the_worker_thread_not_the_gui_thread(window, library_factory):
    assert library_factory.calls == [window.client.thread]
    assert window.client.thread is not window.thread()


def test_adding_a_folder_scans_it_and_shows_the_copy_group(qtbot, wait_for, window, photo_folder):
    ticks: list[int] = []
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: ticks.append(1) if window.busy else None)
    timer.start()
    with wait_for(window.client.worker.scanFinished, timeout=300_000) as done:
        window.add_folder(str(photo_folder))
    timer.stop()
    assert ticks, "the GUI event loop kept running while the worker scanned"
    assert done.payload.errors == 1  # the corrupt file, and the scan went on past it
    qtbot.waitUntil(lambda: window.duplicates.model.rowCount() > 0, timeout=120_000)
    assert group_paths(window) == [{BASES[0], "edited_copy.jpg"}]
    assert window.stack.currentWidget() is window.duplicates
    group = window.duplicates.current_group()
    keeper = group.suggestion
    assert keeper.path.endswith(BASES[0]) and keeper.reason  # the larger original, with its reason
    assert [c.member.path for c in window.duplicates.compare.cards] == [m.path for m in group.members]


def test_a_corrupt_file_shows_as_an_error_in_the_folders_view(qtbot, scanned, photo_folder):
    scanned.show_page("Folders")
    qtbot.waitUntil(lambda: scanned.folders_view.model.rowCount() == 1, timeout=60_000)
    row = scanned.folders_view.model.folder(0)
    assert row.path == str(photo_folder)
    assert (row.photos, row.errors) == (4, 1)
    assert any("corrupt.jpg" in scanned.folders_view.errors.item(i).text()
               for i in range(scanned.folders_view.errors.count()))


def test_a_trashed_copy_comes_back_on_undo(qtbot, wait_for, scanned, photo_folder):
    asked = accept_and_record(scanned)
    copy = photo_folder / "edited_copy.jpg"
    shown = human_size(copy.stat().st_size)
    press_delete(qtbot, wait_for, scanned)
    assert len(asked) == 1
    assert "Move 1 file" in asked[0] and f"({shown})" in asked[0] and "other shots" not in asked[0]
    assert not copy.exists()
    assert (photo_folder / BASES[0]).exists()
    undone = press_undo(qtbot, wait_for, scanned)
    assert copy.exists()
    assert str(copy) in undone.payload.paths


def test_undo_beside_a_new_file_at_the_old_path_says_the_new_name(qtbot, wait_for, scanned, photo_folder):
    accept_and_record(scanned)
    copy = photo_folder / "edited_copy.jpg"
    press_delete(qtbot, wait_for, scanned)
    copy.write_bytes(b"a new file took its name")
    undone = press_undo(qtbot, wait_for, scanned)
    assert copy.read_bytes() == b"a new file took its name"
    assert (photo_folder / "edited_copy (2).jpg").exists()
    assert "1 under a new name beside a file already there: edited_copy (2).jpg" in undone.payload.message


def test_declining_the_confirmation_removes_nothing(qtbot, scanned, photo_folder):
    asked: list[str] = []
    scanned.confirm = lambda _p, _t, text: asked.append(text) or False
    scanned.duplicates.list.setFocus()
    qtbot.keyClick(scanned.duplicates.list, Qt.Key.Key_Return)  # keep the suggestion: asks to trash the rest
    assert len(asked) == 1 and "Move 1 file" in asked[0]
    qtbot.wait(200)  # give a wrongly sent request the chance to run
    assert sorted(p.name for p in photo_folder.iterdir()) == sorted([*BASES, "edited_copy.jpg", "corrupt.jpg"])


def test_keep_all_survives_a_rescan(qtbot, wait_for, scanned):
    with wait_for(scanned.client.worker.actionDone, timeout=60_000):
        scanned.duplicates.keep_all_button.click()
    qtbot.waitUntil(lambda: scanned.duplicates.model.rowCount() == 0, timeout=60_000)
    with wait_for(scanned.client.worker.scanFinished, timeout=300_000):
        scanned.rescan()
    with wait_for(scanned.client.worker.groupsReady, timeout=60_000) as got:
        scanned.duplicates.request_groups()
    assert got.payload.groups == ()
    assert scanned.duplicates.model.rowCount() == 0


def test_search_by_example_ranks_the_copy_first(qtbot, scanned, photo_folder):
    scanned.find_similar(str(photo_folder / BASES[0]))
    assert scanned.stack.currentWidget() is scanned.search_view
    qtbot.waitUntil(lambda: scanned.search_view.model.rowCount() > 0, timeout=60_000)
    first = scanned.search_view.model.entries()[0]
    assert Path(first.path).name == "edited_copy.jpg"
    scores = [e.score for e in scanned.search_view.model.entries()]
    assert scores == sorted(scores, reverse=True)


def test_a_photo_edited_in_place_shows_its_new_picture_in_the_compare_pane(qtbot, wait_for, scanned, photo_folder):
    from PIL import Image, ImageDraw

    copy = photo_folder / "edited_copy.jpg"

    def card_top_is_red() -> bool:
        card = next((c for c in scanned.duplicates.compare.cards if c.member.path == str(copy)), None)
        pixmap = card.image.pixmap() if card is not None else None
        if pixmap is None or pixmap.isNull():
            return False
        colour = pixmap.toImage().pixelColor(pixmap.width() // 2, 2)
        return colour.red() > 200 and colour.green() < 60 and colour.blue() < 60

    qtbot.waitUntil(lambda: any(c.member.path == str(copy) and not c.image.pixmap().isNull()
                                for c in scanned.duplicates.compare.cards), timeout=60_000)
    assert not card_top_is_red()
    with Image.open(copy) as im:
        banner = im.convert("RGB")
    ImageDraw.Draw(banner).rectangle((0, 0, banner.width, banner.height // 8), fill=(255, 0, 0))
    with wait_for(scanned.client.worker.scanFinished, timeout=120_000) as done:  # the watcher's
        banner.save(copy, quality=90)
    assert str(copy) in done.payload.changed
    qtbot.waitUntil(card_top_is_red, timeout=60_000)  # not the picture the file held before


def test_a_photo_copied_into_a_watched_folder_appears_without_a_rescan(qtbot, wait_for, scanned, photo_folder):
    new = photo_folder / "arrived.jpg"
    with wait_for(scanned.client.worker.scanFinished, timeout=120_000) as done:
        shutil.copy(PHOTOS / BASES[1], new)
    assert done.payload.source == "watch"

    def two_groups() -> bool:
        return {BASES[1], "arrived.jpg"} in group_paths(scanned)

    qtbot.waitUntil(two_groups, timeout=60_000)


def test_j_and_k_move_between_groups(qtbot, window):
    window.stack.setCurrentWidget(window.duplicates)
    view = window.duplicates
    view.model.set_groups((GroupInfo("a", "copy", (), 2), GroupInfo("b", "copy", (), 1)))
    view.select_row(0)
    view.list.setFocus()
    qtbot.keyClick(view.list, Qt.Key.Key_J)
    assert view.current_row() == 1
    qtbot.keyClick(view.list, Qt.Key.Key_K)
    assert view.current_row() == 0


def test_j_from_a_cards_keep_box_hands_the_keyboard_back_to_the_list(qtbot, window):
    from mgdesk.gui.worker import MemberInfo

    def two(a: str, b: str) -> GroupInfo:
        members = (MemberInfo(str(PHOTOS / a), keep=True, size=1), MemberInfo(str(PHOTOS / b), size=1))
        return GroupInfo(a + b, "copy", members, 1)

    window.stack.setCurrentWidget(window.duplicates)
    view = window.duplicates
    view.model.set_groups((two(BASES[0], BASES[1]), two(BASES[2], "set14_img_001.jpg")))
    view.select_row(0)
    box = view.compare.cards[1].keep
    box.setFocus()
    qtbot.waitUntil(lambda: window.focusWidget() is box, timeout=5_000)
    qtbot.keyClick(box, Qt.Key.Key_J)
    assert view.current_row() == 1 and window.focusWidget() is view.list
    qtbot.keyClick(window.focusWidget(), Qt.Key.Key_Space)  # no Keep box of a photo never looked at
    assert view.compare.keep_paths() == [str(PHOTOS / BASES[2])]


def test_a_long_name_in_the_group_list_is_elided_not_scrolled_to(qtbot, window):
    from mgdesk.gui.worker import MemberInfo

    name = "IMG_20190704_holiday_in_the_mountains_with_the_whole_family_" + "x" * 40 + ".jpg"
    members = (MemberInfo(str(PHOTOS / name), keep=True, size=2), MemberInfo(str(PHOTOS / BASES[0]), size=1))
    window.stack.setCurrentWidget(window.duplicates)
    view = window.duplicates
    view.model.set_groups((GroupInfo("long", "copy", members, 1),))
    qtbot.waitUntil(lambda: view.list.visualRect(view.model.index(0, 0)).width() > 0, timeout=5_000)
    assert view.list.visualRect(view.model.index(0, 0)).right() <= view.list.viewport().width()
    assert not view.list.horizontalScrollBar().isVisible()


def test_a_tag_shows_its_photos_and_an_album_its_dominant_tags(qtbot, wait_for, scanned, photo_folder):
    scanned.show_page("Tags")
    view = scanned.tags_view
    qtbot.waitUntil(lambda: view.tag_model.rowCount() > 0, timeout=60_000)
    with wait_for(scanned.client.worker.tagPhotosReady, timeout=60_000) as got:
        view.table.selectRow(0)
    label, count = view.tag_model.tag(0), int(view.tag_model.index(0, 1).data())
    assert got.payload.label == label and len(got.payload.paths) == count
    qtbot.waitUntil(lambda: view.photos.rowCount() == count, timeout=60_000)
    assert all(Path(e.path).parent == photo_folder for e in view.photos.entries())
    assert view.albums.count() == 1
    with wait_for(scanned.client.worker.albumTagsReady, timeout=60_000) as album:
        view.albums.setCurrentRow(0)
    assert album.payload.folder == str(photo_folder)


def test_a_paused_folder_holds_new_photos_as_pending_until_resumed(qtbot, wait_for, scanned, photo_folder):
    scanned.client.set_paused(str(photo_folder), True)
    qtbot.waitUntil(lambda: scanned.folders_view.model.folder(0).paused, timeout=60_000)
    shutil.copy(PHOTOS / BASES[2], photo_folder / "while_paused.jpg")
    qtbot.waitUntil(lambda: scanned.folders_view.model.folder(0).pending == 1, timeout=60_000)
    assert scanned.folders_view.model.folder(0).photos == 4  # held, not scanned
    with wait_for(scanned.client.worker.scanFinished, timeout=120_000) as done:
        scanned.client.set_paused(str(photo_folder), False)
    assert done.payload.source == "watch"
    qtbot.waitUntil(lambda: scanned.folders_view.model.folder(0).photos == 5, timeout=60_000)
    assert scanned.folders_view.model.folder(0).pending == 0


def test_dropping_a_folder_on_the_window_adds_and_scans_it(qtbot, wait_for, window, photo_folder):
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(photo_folder))])
    event = QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    with wait_for(window.client.worker.scanFinished, timeout=300_000) as done:
        window.dropEvent(event)
    assert done.payload.roots == (str(photo_folder),)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is not window.empty_state, timeout=60_000)
    assert [f.path for f in window.folders_view.model.folders()] == [str(photo_folder)]


def test_cancel_stops_the_scan_and_the_next_watch_scan_still_runs(qtbot, wait_for, window, photo_folder):
    window.client.cancel_event.set()  # as if Cancel was pressed before the worker got to the scan
    with wait_for(window.client.worker.scanFinished, timeout=300_000) as done:
        window.client._addRoot.emit(str(photo_folder))  # add_root() would clear the cancel first
    assert done.payload.cancelled
    assert not window.client.cancel_event.is_set()
    with wait_for(window.client.worker.scanFinished, timeout=120_000) as again:
        shutil.copy(PHOTOS / BASES[1], photo_folder / "later.jpg")
    assert not again.payload.cancelled


def test_a_missing_watched_folder_is_skipped_and_reported_while_the_others_scan(qtbot, wait_for, scanned,
                                                                                  photo_folder, tmp_path):
    other = tmp_path / "Elsewhere"
    other.mkdir()
    shutil.copy(PHOTOS / BASES[1], other / "x.jpg")
    with wait_for(scanned.client.worker.scanFinished):
        scanned.add_folder(str(other))
    shutil.rmtree(other)  # as if its disk were unplugged
    with wait_for(scanned.client.worker.failed) as failed, wait_for(scanned.client.worker.scanFinished) as done:
        scanned.rescan()
    assert str(other) in failed.payload.message
    assert done.payload.roots == (str(photo_folder),)
    qtbot.waitUntil(lambda: "missing" in [scanned.folders_view.model.index(r, 4).data()
                                          for r in range(scanned.folders_view.model.rowCount())], timeout=60_000)


def test_the_similarity_slider_regroups_in_the_worker_with_its_threshold(qtbot, wait_for, scanned):
    view = scanned.duplicates
    with wait_for(scanned.client.worker.groupsReady) as similar:
        view.level.setCurrentText("similar")
    assert similar.payload.level == "similar" and similar.payload.threshold is None  # the engine's default
    with wait_for(scanned.client.worker.groupsReady) as strict:
        view.slider.setValue(99)
    assert strict.payload.threshold == 0.99
    qtbot.waitUntil(lambda: view.summary.text().startswith(f"{len(strict.payload.groups)} group"), timeout=60_000)


def test_the_compare_pane_highlights_what_differs_from_the_suggested_keeper(scanned):
    cards = {Path(c.member.path).name: c for c in scanned.duplicates.compare.cards}
    keeper, copy = cards[BASES[0]], cards["edited_copy.jpg"]
    assert keeper.keep.isChecked() and not copy.keep.isChecked()
    assert keeper.reason.text().startswith("Suggested")
    assert not any(v.property("differs") for v in keeper.values.values())
    differs = {name for name, v in copy.values.items() if v.property("differs")}
    assert {"Dimensions", "File size"} <= differs and "Folder" not in differs


def test_find_similar_from_a_photo_context_menu_and_by_dropping_an_image(qtbot, wait_for, scanned, photo_folder):
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    menu_actions = scanned.tags_view.grid.context_actions(str(photo_folder / BASES[0]))
    with wait_for(scanned.client.worker.searchReady) as got:
        next(a for a in menu_actions if a.text() == "Find similar").trigger()
    assert scanned.stack.currentWidget() is scanned.search_view
    assert Path(got.payload.hits[0].path).name == "edited_copy.jpg"

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(photo_folder / "edited_copy.jpg"))])
    drop = QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    with wait_for(scanned.client.worker.searchReady) as dropped:
        scanned.search_view.dropEvent(drop)
    assert dropped.payload.query == str(photo_folder / "edited_copy.jpg")
    assert Path(dropped.payload.hits[0].path).name == BASES[0]


def test_a_watched_change_rescans_only_the_folder_it_happened_in(tmp_path):
    from mgdesk.gui.worker import _nearest_existing_folder

    root = tmp_path / "Photos"
    (root / "2024" / "trip").mkdir(parents=True)
    assert _nearest_existing_folder(str(root / "2024" / "trip" / "a.jpg"), str(root)) == str(root / "2024" / "trip")
    # a whole folder deleted: its closest surviving ancestor is scanned, which marks its photos gone
    assert _nearest_existing_folder(str(root / "2024" / "gone" / "sub" / "b.jpg"), str(root)) == str(root / "2024")
    assert _nearest_existing_folder(str(root / "c.jpg"), str(root)) == str(root)


def test_grouping_shows_its_progress_in_the_status_bar_and_then_what_was_there(qtbot, wait_for, scanned):
    stages = []
    scanned.client.worker.groupingProgress.connect(lambda step: stages.append(step.stage))
    before = scanned.status_text.text()
    with wait_for(scanned.client.worker.groupsReady):
        scanned.duplicates.level.setCurrentText("similar")
    assert "verify" in stages or "candidates" in stages, stages
    qtbot.waitUntil(lambda: not scanned.progress.isVisible(), timeout=10_000)
    assert scanned.status_text.text() == before
    # what a step looks like while it lasts (a real first grouping lasts minutes)
    from mgdesk.gui.worker import GroupingStep, GroupsResult
    scanned._on_grouping_progress(GroupingStep("verify", 3, 10))
    assert scanned.progress.isVisible() and scanned.progress.value() == 3 and scanned.progress.maximum() == 10
    assert scanned.status_text.text() == "Grouping: Verifying pairs…"
    scanned._on_groups_ready(GroupsResult(0, "copy", None, ()))
    assert not scanned.progress.isVisible() and scanned.status_text.text() == before
    # a scan that fails sends no scanFinished: the next grouping still shows its progress
    from mgdesk.gui.worker import WorkerError
    scanned.scanning = True
    scanned._on_failed(WorkerError("scan", "the disk went away"))
    scanned._on_grouping_progress(GroupingStep("features", 1, 4))
    assert scanned.progress.isVisible() and scanned.status_text.text() == "Grouping: Reading local features…"


def test_cancel_stops_a_grouping_keeps_the_groups_shown_and_not_the_next_scan(qtbot, wait_for, scanned):
    shown = scanned.duplicates.model.rowCount()
    assert shown > 0
    scanned.cancel_scan()  # the status bar's Cancel, pressed while the grouping below runs
    with wait_for(scanned.client.worker.groupsReady) as got:
        scanned.duplicates.request_groups()
    assert got.payload.cancelled and got.payload.groups == ()
    assert scanned.duplicates.model.rowCount() == shown  # the list shown stays
    assert scanned.status_text.text().startswith("Grouping cancelled")
    assert not scanned.client.cancel_event.is_set()  # it stopped the grouping, not what comes next
    with wait_for(scanned.client.worker.scanFinished, timeout=300_000) as done:
        scanned.rescan()
    assert not done.payload.cancelled


def test_the_window_with_a_group_shown_fits_a_1366_by_768_laptop_screen(qtbot, scanned):
    assert scanned.duplicates.current_group() is not None  # the widest state: a group and its buttons
    scanned.resize(1366, 768)
    qtbot.wait(50)
    assert scanned.width() <= 1366 and scanned.height() <= 768, scanned.size()


def test_every_card_says_what_its_photo_is_and_the_suggested_keeper_comes_first(scanned):
    cards = scanned.duplicates.compare.cards
    assert cards[0].member.keep and cards[0].reason.text().startswith("Suggested")
    copy = next(c for c in cards if c.member.name == "edited_copy.jpg")
    assert copy.reason.text() == f"duplicate of {BASES[0]}"
    assert "Modified" in copy.values and "Similarity" not in copy.values  # at the copy level
    assert copy.values["Modified"].text()[:4].isdigit()


def test_a_new_level_shows_no_groups_of_the_old_one_while_it_is_found(qtbot, wait_for, scanned):
    view = scanned.duplicates
    assert view.model.rowCount() == 1
    with wait_for(scanned.client.worker.groupsReady) as similar:
        view.level.setCurrentText("similar")
        assert view.model.rowCount() == 0 and view.compare.group is None  # at once, before the answer
        assert view.empty.isVisibleTo(view) and view.empty.text().startswith("Finding similar groups")
        assert not view.trash_button.isEnabled() and not view.keep_button.isEnabled()
        assert view.trash_button.text() == "Trash unchecked"  # no count left from the group before
        assert view.keep_button.text() == "Keep suggested shot, trash others"  # other shots, not copies
    assert similar.payload.level == "similar"
    qtbot.waitUntil(lambda: view.model.rowCount() > 0 or view.empty.text().startswith("No "), timeout=60_000)


def test_the_scan_summary_counts_the_unreadable_files_the_folders_view_lists(qtbot, wait_for, window, photo_folder):
    with wait_for(window.client.worker.scanFinished):
        window.add_folder(str(photo_folder))
    qtbot.waitUntil(lambda: "cannot be read" in window.status_text.text(), timeout=60_000)
    assert "1 cannot be read (see Folders)" in window.status_text.text()  # corrupt.jpg
    with wait_for(window.client.worker.scanFinished):
        window.rescan()  # nothing changed: it is still unreadable, and still counted
    qtbot.waitUntil(lambda: "unchanged" in window.status_text.text(), timeout=60_000)
    assert "1 cannot be read" in window.status_text.text()


def test_settings_refuse_a_mistyped_keep_rule_and_say_why(window):
    from mgdesk.gui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(window.settings, window)
    dialog.editors["keep_best_rules"].setText("resolution, sise")
    dialog.accept()
    assert dialog.result() != SettingsDialog.DialogCode.Accepted
    assert "sise" in dialog.problem.text() and dialog.problem.isVisibleTo(dialog)
    dialog.editors["keep_best_rules"].setText("resolution, file_size")
    dialog.accept()
    assert dialog.result() == SettingsDialog.DialogCode.Accepted


def test_the_thumbnail_size_setting_sizes_the_search_and_tag_grids(qtbot, settings, library_factory):
    from mgdesk.gui.main_window import MainWindow

    settings.set("thumbnail_size", 220)
    win = MainWindow(settings=settings, library_factory=library_factory, scan_on_start=False)
    qtbot.addWidget(win)
    try:
        assert win.search_view.model.thumbnail_size == 220 and win.tags_view.photos.thumbnail_size == 220
    finally:
        win.close()


def test_a_regroup_into_an_empty_list_says_it_is_finding_groups_until_the_answer(qtbot, wait_for, window):
    view = window.duplicates
    qtbot.waitUntil(lambda: view.empty.text().startswith("No duplicate groups"), timeout=60_000)
    with wait_for(window.client.worker.groupsReady):
        window.refresh_results()  # as after a scan: the first grouping of new photos takes a while
        assert view.empty.text().startswith("Finding copy groups"), view.empty.text()
    qtbot.waitUntil(lambda: view.empty.text().startswith("No duplicate groups"), timeout=60_000)


class Snapshot(QObject):
    """Connected after the window's own slots: records what the window shows the moment a worker
    signal has been handled, before anything the worker does next can arrive."""

    def __init__(self, signal, look) -> None:
        super().__init__()
        self.seen: list[object] = []
        self._look = look
        signal.connect(self.take)

    @Slot(object)
    def take(self, _payload: object) -> None:
        self.seen.append(self._look())


def test_a_trashed_group_leaves_the_list_before_the_regroup_answers(qtbot, wait_for, scanned):
    accept_and_record(scanned)
    shown = Snapshot(scanned.client.worker.actionDone, lambda: scanned.duplicates.model.rowCount())
    press_delete(qtbot, wait_for, scanned)
    assert shown.seen == [0]  # not actionable any more: its copy is in the trash
    assert scanned.duplicates.current_group() is None and not scanned.duplicates.keep_button.isEnabled()


def test_a_group_trashed_in_part_keeps_what_is_left_and_the_regroup_agrees(qtbot, wait_for, window,
                                                                           photo_folder):
    from PIL import Image

    with Image.open(photo_folder / BASES[0]) as im:
        im.resize((im.width // 2, im.height // 2)).save(photo_folder / "half_size.jpg", quality=90)
    with wait_for(window.client.worker.scanFinished, timeout=300_000):
        window.add_folder(str(photo_folder))
    qtbot.waitUntil(lambda: window.duplicates.model.rowCount() > 0, timeout=120_000)
    assert group_paths(window) == [{BASES[0], "edited_copy.jpg", "half_size.jpg"}]
    accept_and_record(window)
    card = next(c for c in window.duplicates.compare.cards if c.member.name == "edited_copy.jpg")
    card.keep.setChecked(True)  # keep two: only the half-size copy goes
    shown = Snapshot(window.client.worker.actionDone, lambda: group_paths(window))
    groups_after = Snapshot(window.client.worker.groupsReady, lambda: group_paths(window))
    press_delete(qtbot, wait_for, window)
    assert shown.seen == [[{BASES[0], "edited_copy.jpg"}]]  # at once, not dropped until the regroup
    qtbot.waitUntil(lambda: len(groups_after.seen) > 0, timeout=60_000)
    assert groups_after.seen[-1] == [{BASES[0], "edited_copy.jpg"}]
    assert not (photo_folder / "half_size.jpg").exists()


def test_not_duplicates_is_undone_by_ctrl_z_and_its_group_comes_back_selected(qtbot, wait_for, scanned,
                                                                              photo_folder):
    shown = Snapshot(scanned.client.worker.actionDone, lambda: scanned.duplicates.model.rowCount())
    with wait_for(scanned.client.worker.actionDone, timeout=60_000) as marked:
        scanned.duplicates.keep_all_button.click()
    assert shown.seen == [0] and "Ctrl+Z" in marked.payload.message
    qtbot.waitUntil(lambda: scanned.duplicates.summary.text().startswith("0 groups"), timeout=60_000)
    undone = press_undo(qtbot, wait_for, scanned)
    assert "Not duplicates" in undone.payload.message and "grouped again" in undone.payload.message
    qtbot.waitUntil(lambda: scanned.duplicates.current_group() is not None, timeout=60_000)
    assert group_paths(scanned) == [{BASES[0], "edited_copy.jpg"}]
    assert sorted(p.name for p in photo_folder.iterdir()) == sorted([*BASES, "edited_copy.jpg", "corrupt.jpg"])


def test_a_photo_deleted_on_disk_since_the_groups_were_listed_is_named_not_failed(qtbot, wait_for, scanned,
                                                                                  photo_folder):
    accept_and_record(scanned)
    (photo_folder / "edited_copy.jpg").unlink()  # before the watcher's quiet period has passed
    done = press_delete(qtbot, wait_for, scanned)
    assert done.payload.message.startswith("Nothing was moved; 1 no longer there")
    assert "edited_copy.jpg" in done.payload.message and not scanned.showing_error
    assert scanned.duplicates.model.rowCount() == 0
    assert (photo_folder / BASES[0]).exists()


def test_a_search_that_cannot_be_made_leaves_no_old_results_under_it(qtbot, wait_for, scanned, photo_folder):
    scanned.find_similar(str(photo_folder / BASES[0]))
    qtbot.waitUntil(lambda: scanned.search_view.model.rowCount() > 0, timeout=60_000)
    with wait_for(scanned.client.worker.failed, timeout=60_000):
        scanned.find_similar(str(photo_folder / "corrupt.jpg"))
    assert scanned.search_view.model.rowCount() == 0
    assert scanned.search_view.query_label.text().startswith("Cannot search with corrupt.jpg: ")
    pixmap = scanned.search_view.query_thumb.pixmap()
    assert pixmap is None or pixmap.isNull()  # not the last query's picture
    assert scanned.showing_error and "c0392b" in scanned.status_text.styleSheet()
    with wait_for(scanned.client.worker.scanFinished, timeout=300_000):  # the next message is no error
        scanned.rescan()
    assert not scanned.showing_error and scanned.status_text.styleSheet() == ""


def test_a_scan_says_it_is_scanning_from_its_first_photo(qtbot, wait_for, window, photo_folder):
    steps: list[tuple[str, int]] = []
    shown = Snapshot(window.client.worker.progress, lambda: window.status_text.text())
    window.client.worker.progress.connect(lambda p: steps.append((p.phase, p.done)))
    with wait_for(window.client.worker.scanFinished, timeout=300_000):
        window.add_folder(str(photo_folder))
    # the change of phase is never throttled away: the bar leaves "Looking for photos" before the
    # first batch of photos is embedded, not after it
    assert steps[:2] == [("walk", 0), ("scan", 0)]
    assert shown.seen[0].startswith("Looking for photos") and shown.seen[1] == "Scanning…"


def test_stopping_to_watch_the_only_folder_empties_the_views_and_stays_on_folders(qtbot, wait_for, scanned,
                                                                                 photo_folder):
    accept_and_record(scanned)
    scanned.show_page("Folders")
    with wait_for(scanned.client.worker.actionDone, timeout=60_000):
        scanned.remove_folder(str(photo_folder))
    qtbot.waitUntil(lambda: scanned.folders_view.model.rowCount() == 0, timeout=60_000)
    assert scanned.stack.currentWidget() is scanned.folders_view  # the sidebar says Folders: so does the page
    qtbot.waitUntil(lambda: scanned.duplicates.summary.text().startswith("0 groups"), timeout=60_000)
    with wait_for(scanned.client.worker.searchReady, timeout=60_000) as found:
        scanned.find_similar(str(photo_folder / BASES[0]))
    assert found.payload.hits == ()
    assert (photo_folder / BASES[0]).exists()
    scanned.show_page("Duplicates")
    assert scanned.stack.currentWidget() is scanned.empty_state


def test_clicking_duplicates_in_the_sidebar_puts_the_keyboard_on_the_groups(qtbot, scanned):
    scanned.activateWindow()
    scanned.show_page("Search")
    item = scanned.sidebar.item(0)
    qtbot.mouseClick(scanned.sidebar.viewport(), Qt.MouseButton.LeftButton,
                     pos=scanned.sidebar.visualItemRect(item).center())
    assert scanned.stack.currentWidget() is scanned.duplicates
    qtbot.waitUntil(lambda: scanned.focusWidget() is scanned.duplicates.list, timeout=5_000)


def test_the_apps_own_trash_seen_by_the_watcher_leaves_the_actions_message(qtbot, wait_for, scanned):
    accept_and_record(scanned)
    scanned.duplicates.list.setFocus()
    with wait_for(scanned.client.worker.actionDone, timeout=60_000) as done:
        with wait_for(scanned.client.worker.scanFinished, timeout=60_000) as rescan:  # the watcher's
            qtbot.keyClick(scanned.duplicates.list, Qt.Key.Key_Delete)
    assert rescan.payload.source == "watch" and rescan.payload.changes == 0
    assert scanned.status_text.text() == done.payload.message


def test_a_file_written_over_a_restored_one_is_read_again(qtbot, wait_for, scanned, photo_folder):
    # the watcher is never told to ignore a path: what a user or a sync client does to a file
    # the app just put back is picked up like any change
    accept_and_record(scanned)
    copy = photo_folder / "edited_copy.jpg"
    press_delete(qtbot, wait_for, scanned)
    press_undo(qtbot, wait_for, scanned)
    shutil.copy(PHOTOS / BASES[2], copy)  # another photo under the restored name
    qtbot.waitUntil(lambda: group_paths(scanned) == [{BASES[2], "edited_copy.jpg"}], timeout=60_000)


def test_search_results_never_offer_a_photo_that_was_just_trashed(qtbot, wait_for, scanned, photo_folder):
    accept_and_record(scanned)
    scanned.find_similar(str(photo_folder / BASES[0]))
    qtbot.waitUntil(lambda: scanned.search_view.model.rowCount() > 0, timeout=60_000)
    copy = str(photo_folder / "edited_copy.jpg")
    assert copy in [e.path for e in scanned.search_view.model.entries()]
    with wait_for(scanned.client.worker.searchReady, timeout=60_000):
        scanned.trash_members([m for m in scanned.duplicates.current_group().members if m.path == copy])
    assert copy not in [e.path for e in scanned.search_view.model.entries()]
    assert scanned.search_view.model.rowCount() > 0


def test_a_tags_photos_are_asked_again_after_one_is_trashed(qtbot, wait_for, scanned):
    from mgdesk.gui.worker import MemberInfo

    accept_and_record(scanned)
    scanned.show_page("Tags")
    view = scanned.tags_view
    qtbot.waitUntil(lambda: view.tag_model.rowCount() > 0, timeout=60_000)
    with wait_for(scanned.client.worker.tagPhotosReady, timeout=60_000) as got:
        view.table.selectRow(0)
    gone = got.payload.paths[0]
    with wait_for(scanned.client.worker.tagsReady, timeout=60_000):
        scanned.trash_members([MemberInfo(gone)])
    # the tag stays selected and its photos come again without the trashed one (or, its only
    # photo gone, the tag leaves and the grid says so)
    qtbot.waitUntil(lambda: gone not in [e.path for e in view.photos.entries()], timeout=60_000)
    if view.photos.rowCount():
        assert view.table.selectionModel().selectedRows()
    else:
        assert view.grid_title.text().startswith("No photo is tagged")


def test_trashing_the_photo_searched_with_empties_the_results_quietly_and_undo_brings_them_back(
        qtbot, wait_for, scanned, photo_folder):
    accept_and_record(scanned)
    copy = str(photo_folder / "edited_copy.jpg")
    scanned.find_similar(copy)
    qtbot.waitUntil(lambda: scanned.search_view.model.rowCount() > 0, timeout=60_000)
    failures = Snapshot(scanned.client.worker.failed, lambda: None)
    with wait_for(scanned.client.worker.actionDone, timeout=60_000) as done:
        scanned.trash_members([m for m in scanned.duplicates.current_group().members if m.path == copy])
    assert scanned.search_view.model.rowCount() == 0
    assert "edited_copy.jpg, the photo searched with, is no longer there" in scanned.search_view.query_label.text()
    qtbot.waitUntil(lambda: scanned.status_text.text() == done.payload.message, timeout=60_000)  # after the regroup
    assert not scanned.showing_error and failures.seen == []
    with wait_for(scanned.client.worker.searchReady, timeout=60_000):
        qtbot.keyClick(scanned, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert scanned.search_view.model.rowCount() > 0 and failures.seen == []


def test_the_search_follows_its_photo_when_it_is_renamed(qtbot, wait_for, scanned, photo_folder):
    scanned.find_similar(str(photo_folder / BASES[1]))
    qtbot.waitUntil(lambda: scanned.search_view.model.rowCount() > 0, timeout=60_000)
    renamed = photo_folder / "renamed.jpg"
    (photo_folder / BASES[1]).rename(renamed)
    with wait_for(scanned.client.worker.scanFinished, timeout=60_000) as done:  # the watcher's
        pass
    assert (str(photo_folder / BASES[1]), str(renamed)) in done.payload.moves
    # the results of a search with the photo at its new name (the label is the answer's)
    qtbot.waitUntil(lambda: "like renamed.jpg" in scanned.search_view.query_label.text(), timeout=60_000)
    assert scanned.search_view.query_path == str(renamed) and scanned.search_view.model.rowCount() > 0
    assert not scanned.showing_error


def test_a_search_that_works_clears_the_red_line_of_one_that_did_not(qtbot, wait_for, scanned, photo_folder):
    with wait_for(scanned.client.worker.failed, timeout=60_000):
        scanned.find_similar(str(photo_folder / "corrupt.jpg"))
    assert scanned.showing_error
    with wait_for(scanned.client.worker.searchReady, timeout=60_000):
        scanned.find_similar(str(photo_folder / BASES[0]))
    assert not scanned.showing_error and scanned.status_text.text().endswith(f"like {BASES[0]}")


def test_a_sidebar_click_puts_the_keyboard_on_each_pages_list(qtbot, scanned):
    scanned.activateWindow()
    expected = {"Search": scanned.search_view.grid, "Tags": scanned.tags_view.table,
                "Folders": scanned.folders_view.table}
    for row, name in enumerate(("Duplicates", "Search", "Tags", "Folders")):
        if name == "Duplicates":
            continue
        item = scanned.sidebar.item(row)
        qtbot.mouseClick(scanned.sidebar.viewport(), Qt.MouseButton.LeftButton,
                         pos=scanned.sidebar.visualItemRect(item).center())
        qtbot.waitUntil(lambda: scanned.focusWidget() is expected[name], timeout=5_000)


def test_undo_into_a_folder_no_longer_watched_says_so(qtbot, wait_for, scanned, photo_folder):
    accept_and_record(scanned)
    press_delete(qtbot, wait_for, scanned)
    with wait_for(scanned.client.worker.actionDone, timeout=60_000):
        scanned.remove_folder(str(photo_folder))
    with wait_for(scanned.client.worker.actionDone, timeout=60_000) as undone:
        scanned.undo()
    assert (photo_folder / "edited_copy.jpg").exists()
    assert "1 into a folder mgdesk no longer watches" in undone.payload.message


def test_search_and_tags_come_back_when_a_folder_is_added_again(qtbot, wait_for, scanned, photo_folder):
    accept_and_record(scanned)
    scanned.find_similar(str(photo_folder / BASES[0]))
    qtbot.waitUntil(lambda: scanned.search_view.model.rowCount() > 0, timeout=60_000)
    found = scanned.search_view.model.rowCount()
    view = scanned.tags_view
    with wait_for(scanned.client.worker.tagPhotosReady, timeout=60_000):
        view.table.selectRow(0)
    label = view.tag_model.tag(0)
    with wait_for(scanned.client.worker.actionDone, timeout=60_000):
        scanned.remove_folder(str(photo_folder))
    qtbot.waitUntil(lambda: view.grid_title.text().startswith("No photo is tagged"), timeout=60_000)
    with wait_for(scanned.client.worker.scanFinished, timeout=300_000) as done:
        scanned.add_folder(str(photo_folder))
    assert "5 restored" in done.payload.summary and ", 0 changed" in done.payload.summary  # 4 photos + corrupt.jpg
    qtbot.waitUntil(lambda: scanned.search_view.model.rowCount() == found, timeout=60_000)
    qtbot.waitUntil(lambda: view.grid_title.text().startswith(f"{label}:") and view.photos.rowCount() > 0,
                    timeout=60_000)


def test_the_photo_looked_at_in_the_results_stays_current_after_an_unrelated_trash(qtbot, wait_for, scanned,
                                                                                   photo_folder):
    accept_and_record(scanned)
    scanned.find_similar(str(photo_folder / BASES[1]))
    qtbot.waitUntil(lambda: scanned.search_view.model.rowCount() >= 3, timeout=60_000)
    grid = scanned.search_view.grid
    shown = [e.path for e in scanned.search_view.model.entries()]
    kept = next(p for p in reversed(shown) if Path(p).name != "edited_copy.jpg")  # one the trash leaves
    grid.setCurrentIndex(scanned.search_view.model.index(shown.index(kept), 0))
    scanned.show_page("Duplicates")
    with wait_for(scanned.client.worker.searchReady, timeout=60_000):
        press_delete(qtbot, wait_for, scanned)  # trashes edited_copy.jpg, of another group
    assert grid.currentIndex().data(PathRole) == kept and grid.selected_paths() == [kept]


def test_double_clicking_a_result_opens_the_photo_in_the_systems_viewer(qtbot, scanned, photo_folder,
                                                                      monkeypatch):
    from PySide6.QtGui import QDesktopServices

    opened: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()) or True)
    scanned.find_similar(str(photo_folder / BASES[0]))
    qtbot.waitUntil(lambda: scanned.search_view.model.rowCount() > 0, timeout=60_000)
    grid = scanned.search_view.grid
    first = scanned.search_view.model.index(0, 0)
    where = grid.visualRect(first).center()
    qtbot.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, pos=where)  # a double click is a press,
    qtbot.mouseDClick(grid.viewport(), Qt.MouseButton.LeftButton, pos=where)  # then its second press
    assert opened == [scanned.search_view.model.entries()[0].path]


def test_a_watch_scan_during_a_grouping_leaves_the_message_both_came_after(qtbot, scanned):
    # after a trash: the regroup shows its progress, the watcher's quick look starts and finds
    # nothing new, the regroup ends; the line must say the trash's message again, and the bar go
    from mgdesk.gui.worker import GroupingStep, GroupsResult, ScanDone, ScanProgress

    scanned.say("Moved 1 file to the trash")
    scanned._on_grouping_progress(GroupingStep("verify", 1, 4))
    scanned._on_progress(ScanProgress(0, 0, "", 0.0, None, "walk"))
    scanned._on_groups_ready(GroupsResult(scanned.client.generation, "copy", None, ()))
    assert scanned.progress.isVisible()  # the scan's bar, which the grouping's end left alone
    scanned._on_scan_finished(ScanDone((), "0 new", source="watch", changes=0))
    assert scanned.status_text.text() == "Moved 1 file to the trash" and not scanned.progress.isVisible()


def test_opening_the_window_loads_no_network_until_a_photo_needs_it(qtbot, settings, tmp_path):
    from mgdesk.core.service import Library
    from mgdesk.gui.main_window import MainWindow

    opened: list[Library] = []

    def make(**kwargs):
        opened.append(Library(**kwargs))  # the real one, with its own embedder on demand
        return opened[-1]

    win = MainWindow(settings=settings, db_path=tmp_path / "lib.sqlite", library_factory=make)
    qtbot.addWidget(win)
    win.show()
    try:
        qtbot.waitUntil(lambda: win.status_text.text().startswith("Library open"), timeout=60_000)
        qtbot.waitUntil(lambda: win.device_label.text() in ("device: CPU", "device: CUDA"), timeout=60_000)
        assert opened[0]._embedder is None  # the device is known; the model waits for a photo
    finally:
        win.close()
