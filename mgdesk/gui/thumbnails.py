"""Thumbnails and previews: decoded, and fitted to the size they are shown at, off the GUI thread (QThreadPool);
cached on disk, keyed by path + size + mtime."""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import sys
import threading
from collections import OrderedDict
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QObject, QRunnable, QSize, Qt, QThreadPool, QTimer, Signal, Slot
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


def decode_image(path: str, size: int) -> Image.Image:
    """Decode (EXIF orientation applied by the engine) to an RGB image whose longest side is <= size.

    Runs on a pool thread. The disk cache is read and written with Pillow, so a cached image is the
    same kind of image the engine decodes, the one previews are fitted from (fit_image). Raises the
    engine's ImageLoadError (or OSError) on failure.
    """
    target = cache_file(path, size)
    if target is not None and target.exists():
        try:
            with Image.open(target) as cached:
                return cached.convert("RGB")
        except Exception as exc:  # a damaged cache entry is decoded again below
            log.debug("thumbnail cache read failed for %s: %s", path, exc)
    from mgdesk.core.imaging import load_image  # engine import kept out of module import time

    image = load_image(path, max_side=size).image.convert("RGB")
    if target is not None:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
            image.save(tmp, "JPEG", quality=88)
            os.replace(tmp, target)
        except OSError as exc:  # a full or read-only cache only costs speed
            log.debug("thumbnail cache write failed for %s: %s", path, exc)
    return image


def fit_size(width: int, height: int, box_width: int, box_height: int) -> tuple[int, int]:
    """The largest size of width × height's proportions inside the box, as QPixmap.scaled(KeepAspectRatio) makes it."""
    fitted = QSize(width, height).scaled(box_width, box_height, Qt.AspectRatioMode.KeepAspectRatio)
    return max(1, fitted.width()), max(1, fitted.height())


def fit_image(image: Image.Image, width: int, height: int) -> Image.Image:
    """`image` scaled smoothly (Lanczos, as the engine shrinks) to fit width × height. Pool thread only.

    Pillow lets go of the GIL while it resamples; QImage.scaled, called from Python, holds it for the
    whole scale (a 6000×4000 one on another thread kept the GUI thread's Python waiting 335 ms)."""
    size = fit_size(image.width, image.height, width, height)
    return image if size == image.size else image.resize(size, Image.Resampling.LANCZOS)


_RGB32 = "BGRA" if sys.byteorder == "little" else "ARGB"  # QImage.Format_RGB32 (0xffRRGGBB) in memory


def to_qimage(image: Image.Image) -> QImage:
    """An RGB image as a QImage in the format QPixmap keeps opaque pixels in (RGB32), so that
    QPixmap.fromImage, on the GUI thread, copies pixels and converts none."""
    data = image.convert("RGBA").tobytes("raw", _RGB32)
    return QImage(data, image.width, image.height, 4 * image.width, QImage.Format.Format_RGB32).copy()


class _Job(QRunnable):
    """Decodes one thumbnail (and, with `fit`, scales it to fit that box) on a pool thread and puts the
    result on a plain queue.

    It emits no Qt signal and touches no QObject: the GUI thread drains the queue. Jobs are not
    auto-deleted; the loader holds them until their result is drained, so Python and C++ agree on
    who owns them (emitting from pool threads / auto-deleting Python runnables crashed PySide6 6.12
    under load).
    """

    def __init__(self, results: queue.SimpleQueue, path: str, size: int, fit: tuple[int, int] | None = None,
                 source: Image.Image | None = None) -> None:
        super().__init__()
        self._results = results
        self.path = path
        self.size = size
        self.fit = fit
        self.source = source  # the decoded image at `size`, when the loader still has it: only read here
        self.started = False
        self.setAutoDelete(False)

    def run(self) -> None:  # pool thread: PIL and QImage only, no QPixmap, no DB
        self.started = True
        source = self.source
        try:
            if source is None:
                source = decode_image(self.path, self.size)
            image, error = to_qimage(fit_image(source, *self.fit) if self.fit else source), ""
        except Exception as exc:  # every failure becomes a per-file message, never a crash
            # what is shown beside the file's name: the failure without the path
            why = getattr(exc, "why", None) or str(exc)
            source, image, error = None, QImage(), why or type(exc).__name__
        self._results.put((self.path, self.size, self.fit, source, image, error))


class ThumbnailLoader(QObject):
    """Hands out QPixmaps from a memory cache and schedules decoding of the ones it lacks.

    `pixmap(path, size)` is the image decoded with its longest side <= size; `pixmap(path, size,
    fit=(w, h))` the same image scaled smoothly to fit w × h, scaled on a pool thread too, so the
    GUI thread only wraps finished pixels (a preview shown at the size of its box).
    `ready(path, size)` is emitted on the GUI thread when `pixmap(path, size)`, or `pixmap(path,
    size, fit=…)` for a fit asked for, will return the image; `failed(path, size, message)` when it
    cannot be decoded.
    """

    ready = Signal(str, int)
    failed = Signal(str, int, str)

    def __init__(self, parent: QObject | None = None, *, threads: int = 2, memory_items: int = 2000,
                 fitted_items: int = 48, source_items: int = 24) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max(1, threads))
        self._memory: OrderedDict[tuple[str, int], QPixmap] = OrderedDict()
        self._memory_items = memory_items
        # previews at the size shown, (path, size, w, h) → pixmap; few, and large: a cache of their own
        self._fitted: OrderedDict[tuple[str, int, int, int], QPixmap] = OrderedDict()
        self._fitted_items = fitted_items
        # the decoded images they were scaled from, so another fit (zoom, resize) needs no decode;
        # never changed once made, read by pool threads
        self._sources: OrderedDict[tuple[str, int], Image.Image] = OrderedDict()
        self._source_items = source_items
        self._jobs: dict[tuple, _Job] = {}  # in flight, by (path, size) or (path, size, w, h); held until drained
        self._errors: dict[tuple[str, int], str] = {}
        self._priority = 0
        self._results: queue.SimpleQueue = queue.SimpleQueue()
        self._drain = QTimer(self)
        self._drain.setInterval(25)
        self._drain.timeout.connect(self._drain_results)

    def pixmap(self, path: str, size: int, *, fit: tuple[int, int] | None = None,
               request: bool = True) -> QPixmap | None:
        key, cache = ((path, size, *fit), self._fitted) if fit else ((path, size), self._memory)
        pixmap = cache.get(key)
        if pixmap is not None:
            cache.move_to_end(key)
            return pixmap
        if request:
            self.request(path, size, fit=fit)
        return None

    def stand_in(self, path: str, size: int) -> QPixmap | None:
        """The latest fitted pixmap of `path` at `size`, whatever its fit: to show, scaled fast, until
        the fit asked for arrives."""
        for key in reversed(self._fitted):
            if key[0] == path and key[1] == size:
                return self._fitted[key]
        return None

    def error(self, path: str, size: int) -> str | None:
        return self._errors.get((path, size))

    def request(self, path: str, size: int, *, fit: tuple[int, int] | None = None) -> None:
        key = (path, size, *fit) if fit else (path, size)
        if key in self._jobs or key in (self._fitted if fit else self._memory) or (path, size) in self._errors:
            return
        job = _Job(self._results, path, size, fit, self._sources.get((path, size)) if fit else None)
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
        for cache in (self._memory, self._errors, self._fitted, self._sources):
            for key in [k for k in cache if k[0] == path]:
                del cache[key]

    def wait(self, msecs: int = 30000) -> bool:
        done = self._pool.waitForDone(msecs)
        self._drain_results()
        return done

    @Slot()
    def _drain_results(self) -> None:
        while True:
            try:
                path, size, fit, source, image, error = self._results.get_nowait()
            except queue.Empty:
                break
            self._jobs.pop((path, size, *fit) if fit else (path, size), None)
            self._on_finished(path, size, fit, source, image, error)
        if not self._jobs:
            self._drain.stop()

    def _on_finished(self, path: str, size: int, fit: tuple[int, int] | None, source: Image.Image | None,
                     image: QImage, error: str) -> None:
        key = (path, size)
        if error or image.isNull():
            self._errors[key] = error or "could not decode"
            self.failed.emit(path, size, self._errors[key])
            return
        pixmap = QPixmap.fromImage(image)  # already in the pixmap's own format: no conversion here
        if fit:
            _put(self._fitted, (path, size, *fit), pixmap, self._fitted_items)
            _put(self._sources, key, source, self._source_items)
        else:
            _put(self._memory, key, pixmap, self._memory_items)
        self.ready.emit(path, size)


def _put(cache: OrderedDict, key: tuple, value: object, limit: int) -> None:
    """Insert as the most recent entry; the least recently used ones leave past `limit`."""
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > limit:
        cache.popitem(last=False)
