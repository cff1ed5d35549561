"""GUI test fixtures: offscreen Qt, one real Embedder shared by every window, a small real photo folder."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any Qt import

import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageEnhance

PHOTOS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "photos"
BASES = ("bsd100_img_003.jpg", "urban100_img_010.jpg", "set14_img_005.jpg")


@pytest.fixture(scope="session")
def embedder(embedder):
    """The real lite0 network (tests/conftest.py), shared by every window's Library."""
    if not PHOTOS.exists():
        pytest.skip("shared photos not available")
    return embedder


@pytest.fixture
def library_factory(embedder):
    """What the worker calls inside its thread; records the thread so tests can check where it ran."""
    from mgdesk.core.service import Library

    calls: list[object] = []

    def make(**kwargs):
        from PySide6.QtCore import QThread

        calls.append(QThread.currentThread())
        return Library(embedder=embedder, **kwargs)

    make.calls = calls
    return make


@pytest.fixture
def photo_folder(tmp_path) -> Path:
    """Three distinct real photos, an edited copy of the first (resized, brighter, re-encoded) and a corrupt file."""
    folder = tmp_path / "Pictures"
    folder.mkdir()
    for name in BASES:
        shutil.copy(PHOTOS / name, folder / name)
    with Image.open(PHOTOS / BASES[0]) as im:
        edited = ImageEnhance.Brightness(im.convert("RGB")).enhance(1.15)
        edited = edited.resize((im.width * 3 // 4, im.height * 3 // 4), Image.Resampling.LANCZOS)
        edited.save(folder / "edited_copy.jpg", quality=80)
    (folder / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64)
    return folder


@pytest.fixture
def settings(tmp_path):
    from mgdesk.gui.settings import Settings

    return Settings({"quiet_seconds": 0.5}, path=tmp_path / "settings.json")


@pytest.fixture
def window(qtbot, settings, library_factory):
    """The real main window (real Library, real SQLite, real FAISS, worker thread), closed after the test."""
    from mgdesk.gui.main_window import MainWindow

    win = MainWindow(settings=settings, library_factory=library_factory)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.device_label.text() != "device: …", timeout=120_000)
    yield win
    win.close()


@pytest.fixture
def scanned(qtbot, wait_for, window, photo_folder):
    """The window after adding the photo folder and waiting, through signals, for the scan and the groups."""
    with wait_for(window.client.worker.scanFinished):
        window.add_folder(str(photo_folder))
    qtbot.waitUntil(lambda: window.duplicates.model.rowCount() > 0, timeout=120_000)
    return window


@pytest.fixture
def wait_for(qtbot):
    """`with wait_for(worker.signal) as got:` … then `got.payload`.

    The worker emits from its own thread; a bound @Slot on a GUI-thread QObject receives it queued, after
    the window's own slots connected earlier, so the views are up to date when the wait ends (qtbot's
    waitSignal would be called on the worker thread, before them).
    """
    from contextlib import contextmanager

    from PySide6.QtCore import QObject, Slot

    class Catcher(QObject):
        def __init__(self) -> None:
            super().__init__()
            self.payloads: list[object] = []

        @Slot(object)
        def catch(self, payload: object) -> None:
            self.payloads.append(payload)

        @property
        def payload(self) -> object:
            return self.payloads[0]

    @contextmanager
    def waiting(signal, timeout: int = 300_000):
        catcher = Catcher()
        signal.connect(catcher.catch)
        try:
            yield catcher
            qtbot.waitUntil(lambda: bool(catcher.payloads), timeout=timeout)
        finally:
            signal.disconnect(catcher.catch)

    return waiting
