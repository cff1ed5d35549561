"""Screenshots of every view of the real window (offscreen) on a small library built from the shared photos.

    python bench/screenshots.py [--groups 12] [--out bench/out]

Builds a throwaway MGDESK_HOME and a photo folder (a few nd-dev copy groups plus distractors from
photos/), opens the main window, adds the folder, waits for the scan through the worker's signals and
saves one PNG per view into bench/out/. Prints where the files went and how long each step took.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def build_library(dest: Path, groups: int, distractors: int) -> Path:
    """A folder of photos: `groups` nd-dev copy groups (original + edits) in two albums, and distractors."""
    photos = dest / "Photos"
    (photos / "Trips").mkdir(parents=True)
    (photos / "Family").mkdir(parents=True)
    rows = list(csv.DictReader(open(DATA / "nd-dev" / "truth.csv", newline="")))
    by_group: dict[str, list[dict]] = {}
    for row in rows:
        by_group.setdefault(row["copy_group"], []).append(row)
    copy_groups = [g for g in by_group.values() if len(g) > 1][:groups]
    for i, members in enumerate(copy_groups):
        album = photos / ("Trips" if i % 2 else "Family")
        for row in members:
            shutil.copy2(DATA / "nd-dev" / "images" / row["file"], album / row["file"])
    for src in sorted((DATA / "photos").glob("*.jpg"))[-distractors:]:
        shutil.copy2(src, photos / src.name)
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return photos


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=8, help="nd-dev copy groups to include")
    parser.add_argument("--distractors", type=int, default=12, help="single photos to include")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--factory", help="module:attr of a Library stand-in (development only)")
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args(argv)

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    tmp = Path(tempfile.mkdtemp(prefix="mgdesk-shots-"))
    os.environ["MGDESK_HOME"] = str(tmp / "home")
    os.environ["XDG_DATA_HOME"] = str(tmp / "xdg")  # the real trash is never touched
    args.out.mkdir(parents=True, exist_ok=True)
    photos = build_library(tmp, args.groups, args.distractors)

    from PySide6.QtCore import QEventLoop, QObject, QPoint, Slot
    from PySide6.QtWidgets import QApplication

    from mgdesk.gui.main_window import MainWindow

    app = QApplication.instance() or QApplication(["mgdesk"])
    factory = None
    if args.factory:
        module, attr = args.factory.split(":")
        factory = getattr(importlib.import_module(module), attr)

    class Catcher(QObject):
        """Receives a worker signal on the GUI thread (a bound slot, queued), after the window's own slots."""

        def __init__(self) -> None:
            super().__init__()
            self.payloads: list[object] = []

        @Slot(object)
        def catch(self, payload: object) -> None:
            self.payloads.append(payload)

    def wait(signal, action=None, timeout: float = args.timeout) -> object:
        """Connect first, then run `action`, then spin until `signal` has been delivered."""
        catcher = Catcher()
        signal.connect(catcher.catch)
        if action is not None:
            action()
        end = time.monotonic() + timeout
        while not catcher.payloads and time.monotonic() < end:
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            time.sleep(0.01)
        signal.disconnect(catcher.catch)
        if not catcher.payloads:
            raise TimeoutError(f"no {signal} within {timeout} s")
        return catcher.payloads[0]

    def settle(ms: int = 1500) -> None:
        """Let thumbnails arrive: spin the loop while the pool works."""
        end = time.monotonic() + ms / 1000
        while time.monotonic() < end:
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            time.sleep(0.02)

    def shot(widget, name: str) -> None:
        path = args.out / f"{name}.png"
        widget.grab().save(str(path))
        print(f"{name:<14} {path}")

    t0 = time.perf_counter()
    window = MainWindow(library_factory=factory)
    window.resize(1400, 860)
    window.show()
    deadline = time.monotonic() + args.timeout
    while window.device_label.text() == "device: …" and time.monotonic() < deadline:
        settle(100)  # the worker may have answered before anything could connect: poll the label
    settle(300)
    shot(window, "01_empty")

    window.add_folder(str(photos))
    while time.monotonic() < deadline + args.timeout and not (
            window.last_progress and window.last_progress.phase == "scan" and window.last_progress.done >= 8):
        settle(50)
    shot(window, "02_scanning")
    done = wait(window.client.worker.scanFinished)  # the scan outlasts the 8 images waited for above
    print(f"scan: {time.perf_counter() - t0:.1f} s — {done.summary}")
    window.show_page("Duplicates")
    if not window.duplicates.model.rowCount():
        wait(window.client.worker.groupsReady, window.duplicates.request_groups)
    window.duplicates.select_row(0)
    settle(2500)
    shot(window, "03_duplicates")

    wait(window.client.worker.groupsReady, lambda: window.duplicates.level.setCurrentText("similar"))
    settle(1500)
    shot(window, "04_similar")

    first = window.duplicates.current_group()
    query = first.members[0].path if first else str(next(photos.rglob("*.jpg")))
    wait(window.client.worker.searchReady, lambda: window.find_similar(query))
    settle(2500)
    shot(window, "05_search")

    window.show_page("Tags")
    if window.tags_view.tag_model.rowCount():
        wait(window.client.worker.tagPhotosReady, lambda: window.tags_view.table.selectRow(0))
    if window.tags_view.albums.count():  # the last album: a subfolder with photos of its own
        last_album = window.tags_view.albums.count() - 1
        wait(window.client.worker.albumTagsReady, lambda: window.tags_view.albums.setCurrentRow(last_album))
    settle(2500)
    shot(window, "06_tags")

    # 50,000 photos in a grid: rows come in batches and only visible rows ask for thumbnails
    grid, model = window.tags_view.grid, window.tags_view.photos
    paths = [e.path for e in window.search_view.model.entries()] or [query]
    t = time.perf_counter()
    model.set_photos([paths[i % len(paths)] for i in range(50_000)])
    settle(50)
    t_reset = time.perf_counter() - t
    bar = grid.verticalScrollBar()
    fetches, worst_fetch, t = 0, 0.0, time.perf_counter()
    while model.canFetchMore(model.index(-1, 0)) or bar.value() < bar.maximum():  # drag the bar to the end
        s0 = time.perf_counter()
        bar.setValue(bar.maximum())
        app.processEvents()
        worst_fetch = max(worst_fetch, time.perf_counter() - s0)
        fetches += 1
    t_end = time.perf_counter() - t
    bar.setValue(0)
    app.processEvents()
    pages, worst, t = 0, 0.0, time.perf_counter()
    while bar.value() < bar.maximum() and pages < 300:  # then page down through it
        s0 = time.perf_counter()
        bar.setValue(bar.value() + bar.pageStep())
        grid.viewport().repaint()  # paint the newly visible rows now (data(), thumbnails from memory)
        app.processEvents()
        worst = max(worst, time.perf_counter() - s0)
        pages += 1
    t_pages = time.perf_counter() - t
    print(f"grid of 50,000: set_photos {t_reset * 1000:.0f} ms; to the end in {fetches} drags, {t_end:.2f} s "
          f"(worst {worst_fetch * 1000:.0f} ms, {model.rowCount()} rows); paging {t_pages / max(pages, 1) * 1000:.1f}"
          f" ms/page over {pages} pages (worst {worst * 1000:.1f} ms)")

    window.show_page("Folders")
    wait(window.client.worker.foldersReady, window.client.folders)
    settle(300)
    shot(window, "07_folders")

    from mgdesk.gui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(window.settings, window)
    dialog.show()
    settle(300)
    shot(dialog, "08_settings")
    dialog.close()
    last = window.last_progress
    print(f"total: {time.perf_counter() - t0:.1f} s; last progress: {last.rate if last else 0:.1f} images/s")
    window.close()
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
