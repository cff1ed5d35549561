"""FolderWatcher: real watchdog observers on tmp folders, batches collected through a thread-safe list."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from mgdesk.core.watch import FolderWatcher, WatchBatch

PHOTOS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "photos"
WAIT = 20.0  # generous upper bound for a batch to arrive; never an assertion on speed


class Collector:
    """Receives batches on the watcher's thread and lets the test wait for a condition."""

    def __init__(self) -> None:
        self.batches: list[WatchBatch] = []
        self._cond = threading.Condition()

    def __call__(self, batch: WatchBatch) -> None:
        with self._cond:
            self.batches.append(batch)
            self._cond.notify_all()

    def wait_for(self, predicate, timeout: float = WAIT) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self), timeout=timeout)

    @property
    def changed(self) -> list[str]:
        return [p for b in self.batches for p in b.changed]

    @property
    def deleted(self) -> list[str]:
        return [p for b in self.batches for p in b.deleted]

    @property
    def moved(self) -> list[tuple[str, str]]:
        return [m for b in self.batches for m in b.moved]


@pytest.fixture
def watched(tmp_path):
    root = tmp_path / "photos"
    root.mkdir()
    collector = Collector()
    watcher = FolderWatcher([root], collector, quiet_seconds=0.4, settle_seconds=0.2)
    watcher.start()
    yield root.resolve(), watcher, collector
    watcher.stop()


def test_a_copied_photo_is_reported_as_changed(watched):
    root, _, got = watched
    src = sorted(PHOTOS.glob("*.jpg"))[0]
    shutil.copy(src, root / "new.jpg")
    assert got.wait_for(lambda c: str(root / "new.jpg") in c.changed)
    assert got.batches[0].roots == (str(root),)


def test_a_burst_of_thousands_of_files_is_coalesced_into_few_batches(watched):
    root, _, got = watched
    for i in range(2000):
        (root / f"f{i:04d}.jpg").write_bytes(b"x" * 10)
    assert got.wait_for(lambda c: len(c.changed) >= 2000)
    assert sorted(got.changed) == sorted(str(root / f"f{i:04d}.jpg") for i in range(2000))
    # each file once, and far fewer callbacks than files
    assert len(set(got.changed)) == 2000
    assert len(got.batches) < 20


def test_a_file_still_being_written_is_reported_once_after_it_stops_growing(tmp_path):
    root = tmp_path / "photos"
    root.mkdir()
    target = root.resolve() / "growing.jpg"
    sizes_at_report: list[int] = []
    got = Collector()

    def record(batch: WatchBatch) -> None:
        if str(target) in batch.changed:
            sizes_at_report.append(target.stat().st_size)
        got(batch)

    # pauses between writes are far shorter than the quiet period: the file is "still being written"
    watcher = FolderWatcher([root], record, quiet_seconds=1.5, settle_seconds=0.2)
    watcher.start()
    try:
        with open(target, "wb") as fh:
            for _ in range(12):
                fh.write(b"y" * 1000)
                fh.flush()
                os.fsync(fh.fileno())
                time.sleep(0.1)
        assert got.wait_for(lambda c: str(target) in c.changed)
        assert sizes_at_report == [12000]
        assert got.changed.count(str(target)) == 1
    finally:
        watcher.stop()


def test_a_rename_is_reported_as_a_move_and_a_removal_as_a_deletion(tmp_path):
    root = tmp_path / "photos"
    root.mkdir()
    (root / "a.jpg").write_bytes(b"a")
    (root / "b.jpg").write_bytes(b"b")
    got = Collector()
    watcher = FolderWatcher([root], got, quiet_seconds=0.3, settle_seconds=0.2)
    watcher.start()
    try:
        root = root.resolve()
        os.rename(root / "a.jpg", root / "renamed.jpg")
        os.remove(root / "b.jpg")
        assert got.wait_for(lambda c: c.moved and c.deleted)
        assert got.moved == [(str(root / "a.jpg"), str(root / "renamed.jpg"))]
        assert got.deleted == [str(root / "b.jpg")]
        assert str(root / "b.jpg") not in got.changed
    finally:
        watcher.stop()


def test_a_partial_download_renamed_into_place_is_one_new_photo(tmp_path):
    root = tmp_path / "photos"
    root.mkdir()
    got = Collector()
    watcher = FolderWatcher([root], got, quiet_seconds=0.3, settle_seconds=0.2, suffixes={".jpg"})
    watcher.start()
    try:
        root = root.resolve()
        (root / "photo.jpg.part").write_bytes(b"z" * 100)
        os.rename(root / "photo.jpg.part", root / "photo.jpg")
        assert got.wait_for(lambda c: c.changed)
        assert got.changed == [str(root / "photo.jpg")]
        assert got.moved == [] and got.deleted == []
    finally:
        watcher.stop()


def test_a_paused_folder_holds_its_changes_until_resumed(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    got = Collector()
    watcher = FolderWatcher([a, b], got, quiet_seconds=0.3, settle_seconds=0.2)
    watcher.start()
    try:
        a, b = a.resolve(), b.resolve()
        watcher.pause(a)
        assert watcher.is_paused(a) and not watcher.is_paused(b)
        (a / "held.jpg").write_bytes(b"1")
        (b / "free.jpg").write_bytes(b"2")
        assert got.wait_for(lambda c: str(b / "free.jpg") in c.changed)
        # b's change went out after a's settled too, so a's was held, not merely late
        assert str(a / "held.jpg") not in got.changed
        watcher.resume(a)
        assert got.wait_for(lambda c: str(a / "held.jpg") in c.changed)
    finally:
        watcher.stop()


def test_a_missing_root_is_skipped_and_the_others_are_watched(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    got = Collector()
    watcher = FolderWatcher([tmp_path / "gone", real], got, quiet_seconds=0.3, settle_seconds=0.2)
    watcher.start()
    try:
        (real / "x.jpg").write_bytes(b"1")
        assert got.wait_for(lambda c: str(real.resolve() / "x.jpg") in c.changed)
    finally:
        watcher.stop()
