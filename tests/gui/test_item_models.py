"""Item models over worker payloads, checked by Qt's own model tester."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt

from mgdesk.gui.item_models import (FolderItemModel, GroupItemModel, PathRole, PhotoItemModel, TagItemModel,
                                    human_size)
from mgdesk.gui.thumbnails import ThumbnailLoader
from mgdesk.gui.worker import FolderRow, GroupInfo, MemberInfo


def group(key: str, reclaimable: int, n: int = 2) -> GroupInfo:
    members = tuple(MemberInfo(f"/p/{key}_{i}.jpg", keep=i == 0, size=100 * (i + 1)) for i in range(n))
    return GroupInfo(key, "copy", members, reclaimable)


def test_a_photo_model_of_fifty_thousand_paths_exposes_rows_in_batches(qtmodeltester, qapp):
    model = PhotoItemModel(ThumbnailLoader(threads=1), size=64)
    model.set_photos([f"/nowhere/photo_{i:05d}.jpg" for i in range(50_000)])
    assert model.rowCount() == PhotoItemModel.BATCH
    assert model.canFetchMore(QModelIndex())
    model.fetchMore(QModelIndex())
    assert model.rowCount() == 2 * PhotoItemModel.BATCH
    assert model.index(300, 0).data(PathRole) == "/nowhere/photo_00300.jpg"
    qtmodeltester.check(model, force_py=True)


def test_groups_are_sorted_by_reclaimable_size(qtmodeltester, qapp):
    model = GroupItemModel(ThumbnailLoader(threads=1), size=64)
    model.set_groups([group("small", 10), group("big", 5000), group("mid", 300, n=3)])
    assert [model.group(r).key for r in range(3)] == ["big", "mid", "small"]
    text = model.index(0, 0).data(Qt.ItemDataRole.DisplayRole)
    assert "2 photos" in text and "copy" in text and human_size(5000) in text
    qtmodeltester.check(model, force_py=True)


def test_tag_and_folder_tables_pass_the_model_tester(qtmodeltester, qapp):
    tags = TagItemModel()
    tags.set_tags([("seashore", 3), ("church", 12)])
    assert tags.index(0, 0).data() == "church" and tags.index(0, 1).data() == "12"
    qtmodeltester.check(tags, force_py=True)
    folders = FolderItemModel()
    folders.set_folders([FolderRow("/a", 10, 2, 1, paused=True), FolderRow("/b", 0, 0, 0, exists=False)])
    assert [folders.index(r, 4).data() for r in range(2)] == ["paused", "missing"]
    qtmodeltester.check(folders, force_py=True)
