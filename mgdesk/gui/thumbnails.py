"""Thumbnails: decoded off the GUI thread (QThreadPool) and cached on disk, keyed by path + size + mtime."""

from __future__ import annotations

import hashlib
import logging
import os
import queue
from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal, Slot
from PySide6.QtGui import QImage, QPixmap

from mgdesk import paths

log = logging.getLogger(__name__)


def cache_root() -> Path:
    path = paths.cache_dir() / "thumbs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_key(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha1(f"{os.path.abspath(path)}\0{size}\0{mtime_ns}".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def cache_file(path: str, size: int) -> Path | None:
    """Where the thumbnail of `path` at `size` lives; None when the file is gone."""
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError:
        return None
    key = cache_key(path, size, mtime)
    return cache_root() / key[:2] / f"{key}.jpg"


def decode_thumbnail(path: str, size: int) -> QImage:
    """Decode (EXIF orientation applied by the engine) to a QImage whose longest side is <= size.

    Runs on a pool thread. Raises the engine's ImageLoadError (or OSError) on failure.
    """
    target = cache_file(path, size)
    if target is not None and target.exists():
        cached = QImage(str(target))
        if not cached.isNull():
            return cached
    from mgdesk.core.imaging import load_image  # engine import kept out of module import time

    loaded = load_image(path, max_side=size)
    image = loaded.image.convert("RGB")
    w, h = image.size
    data = image.tobytes("raw", "RGB")
    qimage = QImage(data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()  # copy: own the buffer
    if target is not None:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(f".{os.getpid()}.{id(qimage)}.tmp")
            if qimage.save(str(tmp), "JPG", 88):
                os.replace(tmp, target)
        except OSError as exc:  # a full or read-only cache only costs speed
            log.debug("thumbnail cache write failed for %s: %s", path, exc)
    return qimage


class _Job(QRunnable):
    """Decodes one thumbnail on a pool thread and puts the result on a plain queue.

    It emits no Qt signal and touches no QObject: the GUI thread drains the queue. Jobs are not
    auto-deleted; the loader holds them until their result is drained, so Python and C++ agree on
    who owns them (emitting from pool threads / auto-deleting Python runnables crashed PySide6 6.12
    under load).
    """

    def __init__(self, results: queue.SimpleQueue, path: str, size: int) -> None:
        super().__init__()
        self._results = results
        self.path = path
        self.size = size
        self.started = False
        self.setAutoDelete(False)

    def run(self) -> None:  # pool thread: QImage only, no QPixmap, no DB
        self.started = True
        try:
            image, error = decode_thumbnail(self.path, self.size), ""
        except Exception as exc:  # every failure becomes a per-file message, never a crash
            image, error = QImage(), str(exc) or type(exc).__name__
        self._results.put((self.path, self.size, image, error))


class ThumbnailLoader(QObject):
    """Hands out QPixmaps from a memory cache and schedules decoding of the ones it lacks.

    `ready(path, size)` is emitted on the GUI thread when `pixmap(path, size)` will return the image;
    `failed(path, size, message)` when it cannot be decoded.
    """

    ready = Signal(str, int)
    failed = Signal(str, int, str)

    def __init__(self, parent: QObject | None = None, *, threads: int = 2, memory_items: int = 2000) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max(1, threads))
        self._memory: OrderedDict[tuple[str, int], QPixmap] = OrderedDict()
        self._memory_items = memory_items
        self._jobs: dict[tuple[str, int], _Job] = {}  # in flight; held until drained
        self._errors: dict[tuple[str, int], str] = {}
        self._priority = 0
        self._results: queue.SimpleQueue = queue.SimpleQueue()
        self._drain = QTimer(self)
        self._drain.setInterval(25)
        self._drain.timeout.connect(self._drain_results)

    def pixmap(self, path: str, size: int, *, request: bool = True) -> QPixmap | None:
        key = (path, size)
        pixmap = self._memory.get(key)
        if pixmap is not None:
            self._memory.move_to_end(key)
            return pixmap
        if request:
            self.request(path, size)
        return None

    def error(self, path: str, size: int) -> str | None:
        return self._errors.get((path, size))

    def request(self, path: str, size: int) -> None:
        key = (path, size)
        if key in self._jobs or key in self._memory or key in self._errors:
            return
        job = _Job(self._results, path, size)
        self._jobs[key] = job
        # the most recently asked-for (i.e. visible now) thumbnails are decoded first
        self._priority = min(self._priority + 1, 2**30)
        self._pool.start(job, self._priority)
        if not self._drain.isActive():
            self._drain.start()

    def cancel_pending(self) -> None:
        """Drop queued (not yet started) jobs, e.g. when a grid is reset."""
        self._pool.clear()
        self._jobs = {k: j for k, j in self._jobs.items() if j.started}

    def forget(self, path: str) -> None:
        for key in [k for k in (*self._memory, *self._errors) if k[0] == path]:
            self._memory.pop(key, None)
            self._errors.pop(key, None)

    def wait(self, msecs: int = 30000) -> bool:
        done = self._pool.waitForDone(msecs)
        self._drain_results()
        return done

    @Slot()
    def _drain_results(self) -> None:
        while True:
            try:
                path, size, image, error = self._results.get_nowait()
            except queue.Empty:
                break
            self._jobs.pop((path, size), None)
            self._on_finished(path, size, image, error)
        if not self._jobs:
            self._drain.stop()

    def _on_finished(self, path: str, size: int, image: QImage, error: str) -> None:
        key = (path, size)
        if error or image.isNull():
            self._errors[key] = error or "could not decode"
            self.failed.emit(path, size, self._errors[key])
            return
        self._memory[key] = QPixmap.fromImage(image)
        while len(self._memory) > self._memory_items:
            self._memory.popitem(last=False)
        self.ready.emit(path, size)
