"""Actions: trash and move are journaled, never clobber, refuse unsafe requests, and undo restores."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mgdesk.core.actions import (
    ActionError,
    SameFileError,
    WholeGroupError,
    move_no_clobber,
    reconcile,
    remove_files,
    undo_last,
)
from mgdesk.core.store import FileStatus, Repository


@pytest.fixture
def repo(tmp_path) -> Repository:
    return Repository.open(tmp_path / "lib.sqlite")


@pytest.fixture
def files(tmp_path) -> list[Path]:
    folder = tmp_path / "photos"
    folder.mkdir()
    out = []
    for i in range(3):
        p = folder / f"img{i}.jpg"
        p.write_bytes(f"photo {i}".encode() * 100)
        out.append(p)
    return out


def _register(repo, paths):
    for i, p in enumerate(paths):
        repo.insert_file({"path": str(p), "size": p.stat().st_size, "mtime_ns": p.stat().st_mtime_ns,
                          "hash": f"h{i}", "status": "ok"})


def test_a_trashed_file_goes_to_the_test_trash_and_comes_back_on_undo(repo, files, tmp_path):
    _register(repo, files)
    content = files[0].read_bytes()
    action = remove_files(repo, [files[0]])
    assert not files[0].exists()
    trash = Path(os.environ["XDG_DATA_HOME"]) / "Trash"
    assert (trash / "files" / "img0.jpg").read_bytes() == content  # the tmp trash, not the user's
    assert action.kind == "trash" and action.done_items[0].trash_info
    assert repo.file_by_path(str(files[0])).status == FileStatus.MISSING
    assert repo.decisions("h0")[0]["decision"] == "removed"

    undone = undo_last(repo)
    assert undone.state == "undone"
    assert files[0].read_bytes() == content
    assert not (trash / "files" / "img0.jpg").exists()
    assert not list((trash / "info").glob("*.trashinfo"))
    assert repo.file_by_path(str(files[0])).status == FileStatus.OK
    assert undo_last(repo) is None


def test_a_file_moved_to_a_folder_comes_back_on_undo(repo, files, tmp_path):
    dest = tmp_path / "removed"
    action = remove_files(repo, files[:2], destination=dest)
    assert sorted(p.name for p in dest.iterdir()) == ["img0.jpg", "img1.jpg"]
    assert action.kind == "move" and len(action.done_items) == 2
    undo_last(repo)
    assert files[0].exists() and files[1].exists() and not any(dest.iterdir())


def test_a_file_undo_could_not_find_stays_undoable_until_it_is_back(repo, files, tmp_path):
    dest = tmp_path / "removed"
    remove_files(repo, files[:2], destination=dest)
    (dest / "img1.jpg").rename(dest / "renamed.jpg")  # the user renamed it in the folder
    partly = undo_last(repo)
    assert files[0].exists() and not files[1].exists()
    assert [i.undone for i in partly.items] == [True, False] and partly.state != "undone"
    (dest / "renamed.jpg").rename(dest / "img1.jpg")
    again = undo_last(repo)  # the same action again: only what is still out
    assert again.id == partly.id and again.state == "undone"
    assert files[1].exists() and files[0].exists()
    assert undo_last(repo) is None


def test_an_undo_that_restores_nothing_says_so_and_can_be_retried(repo, files, tmp_path):
    dest = tmp_path / "removed"
    remove_files(repo, files[:1], destination=dest)
    (dest / "img0.jpg").rename(dest / "elsewhere.jpg")
    with pytest.raises(ActionError, match="run undo again"):
        undo_last(repo)
    (dest / "elsewhere.jpg").rename(dest / "img0.jpg")
    assert undo_last(repo).state == "undone" and files[0].exists()


def test_a_link_to_a_photo_is_not_removed_in_its_place(repo, files, tmp_path):
    link = tmp_path / "link.jpg"
    link.symlink_to(files[0])
    with pytest.raises(ActionError, match="is a link to"):
        remove_files(repo, [link], destination=tmp_path / "removed")
    assert link.is_symlink() and files[0].exists()


def test_moving_never_overwrites_an_existing_file(files, tmp_path):
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "img0.jpg").write_bytes(b"someone else's file")
    moved = move_no_clobber(files[0], dest / "img0.jpg")
    assert moved.name == "img0 (2).jpg"
    assert (dest / "img0.jpg").read_bytes() == b"someone else's file"


def test_undo_does_not_overwrite_a_new_file_at_the_original_path(repo, files, tmp_path):
    remove_files(repo, [files[0]], destination=tmp_path / "removed")
    files[0].write_bytes(b"a new file took its name")
    undone = undo_last(repo)
    assert files[0].read_bytes() == b"a new file took its name"
    assert (files[0].parent / "img0 (2).jpg").read_bytes().startswith(b"photo 0")
    # so the user can be told
    assert undone.renamed == {str(files[0]): str(files[0].parent / "img0 (2).jpg")}


def test_a_file_that_keeps_its_name_is_not_reported_renamed(repo, files, tmp_path):
    moved = remove_files(repo, [files[0]], destination=tmp_path / "removed")
    assert moved.done_items and moved.renamed == {}
    restored = undo_last(repo)
    assert restored.items[0].undone and restored.renamed == {}


def test_removing_every_member_of_a_group_is_refused(repo, files):
    group = [files[0], files[1]]
    with pytest.raises(WholeGroupError):
        remove_files(repo, group, groups=[group])
    assert files[0].exists() and files[1].exists()
    remove_files(repo, [files[0]], groups=[group])  # one copy stays: allowed
    with pytest.raises(WholeGroupError):  # and now the last one is protected
        remove_files(repo, [files[1]], groups=[group])
    assert files[1].exists()


def test_a_kept_copy_renamed_since_the_group_was_listed_is_named_as_the_reason_for_refusing(repo, files):
    group = [files[0], files[1]]
    files[0].rename(files[0].with_name("renamed.jpg"))  # the one the user kept, renamed meanwhile
    with pytest.raises(WholeGroupError, match=r"the copy that would stay \(img0.jpg\) is no longer where it was"):
        remove_files(repo, [files[1]], groups=[group])
    assert files[1].exists()


def test_two_names_of_one_file_are_refused(repo, files):
    link = files[0].parent / "hardlink.jpg"
    os.link(files[0], link)
    with pytest.raises(SameFileError):
        remove_files(repo, [files[0], link])
    assert files[0].exists() and link.exists()


def test_a_missing_path_is_a_clear_error(repo, tmp_path):
    with pytest.raises(ActionError, match="no such file"):
        remove_files(repo, [tmp_path / "nope.jpg"])


def test_an_action_interrupted_after_the_move_is_reconciled_and_undoable(repo, files, tmp_path):
    dest = tmp_path / "removed"
    dest.mkdir()
    _register(repo, files)
    action_id = repo.create_action("move", str(dest), [(str(files[0]), "h0", 10), (str(files[1]), "h1", 10)])
    files[0].rename(dest / files[0].name)  # the crash came after the first move, before the journal's AFTER
    settled = reconcile(repo)
    assert [a.id for a in settled] == [action_id]
    action = repo.action(action_id)
    assert action.state == "interrupted"
    assert [i.done for i in action.items] == [True, False]
    undo_last(repo)
    assert files[0].exists() and files[1].exists()
