"""Watched folders: watchdog events → a debounced, coalesced batch of changed, moved and deleted paths."""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from mgdesk.paths import is_under

log = logging.getLogger(__name__)

# Event kinds put on the queue by the watchdog thread (it does nothing else).
CHANGED, DELETED, MOVED = "changed", "deleted", "moved"


@dataclass(frozen=True)
class WatchBatch:
    """What changed under the watched roots since the last batch, once things went quiet.

    `changed` files were created or modified and their size+mtime have been stable for the quiet
    period; `moved` pairs are (old path, new path); `deleted` paths are gone (a deleted folder is
    reported as its own path). A path appears in at most one of `changed`/`deleted`.
    """

    changed: tuple[str, ...] = ()
    moved: tuple[tuple[str, str], ...] = ()
    deleted: tuple[str, ...] = ()
    roots: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.changed or self.moved or self.deleted)

    def __len__(self) -> int:
        return len(self.changed) + len(self.moved) + len(self.deleted)


class _Enqueue(FileSystemEventHandler):
    """Runs on the watchdog thread: turns an event into a tuple on the queue, nothing more."""

    def __init__(self, q: queue.SimpleQueue) -> None:
        self._q = q

    def on_any_event(self, event: FileSystemEvent) -> None:
        kind = event.event_type
        if kind in ("created", "modified", "closed"):
            if not event.is_directory:
                self._q.put((CHANGED, os.fsdecode(event.src_path), None, False))
        elif kind == "deleted":
            self._q.put((DELETED, os.fsdecode(event.src_path), None, event.is_directory))
        elif kind == "moved":
            self._q.put((MOVED, os.fsdecode(event.src_path), os.fsdecode(event.dest_path), event.is_directory))


def _signature(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns)


@dataclass
class _Pending:
    """Coalesced state that the consumer thread alone touches."""

    changed: dict[str, tuple[tuple[int, int] | None, float]] = field(default_factory=dict)  # path -> (sig, stable since)
    moved: dict[str, str] = field(default_factory=dict)  # new path -> original old path
    deleted: set[str] = field(default_factory=set)
    last_event: float = 0.0
    first_event: float = 0.0

    def empty(self) -> bool:
        return not (self.changed or self.moved or self.deleted)


class FolderWatcher:
    """Watches `roots` and calls `on_batch(WatchBatch)` from its own consumer thread.

    Bursts (thousands of events from a copy or an unzip) are coalesced: a batch goes out only once no
    event has arrived for `settle_seconds`, and a created or modified file only once its size and
    mtime have not changed for `quiet_seconds` (watchdog's "created" fires before a copy finishes).
    While a root is paused its events keep being coalesced but are held back until `resume`.
    """

    def __init__(
        self,
        roots: Iterable[str | os.PathLike],
        on_batch: Callable[[WatchBatch], None],
        quiet_seconds: float = 2.0,
        *,
        settle_seconds: float | None = None,
        max_wait_seconds: float = 30.0,
        suffixes: Collection[str] | None = None,
    ) -> None:
        self._roots: dict[str, object] = {}  # normalised root -> watchdog ObservedWatch | None
        for root in roots:
            self._roots[self._norm(root)] = None
        self._on_batch = on_batch
        self.quiet_seconds = float(quiet_seconds)
        self.settle_seconds = float(settle_seconds) if settle_seconds is not None else min(self.quiet_seconds, 1.0)
        self.max_wait_seconds = float(max_wait_seconds)
        self._suffixes = {s.lower() for s in suffixes} if suffixes else None
        self._q: queue.SimpleQueue = queue.SimpleQueue()
        self._handler = _Enqueue(self._q)
        self._observer = None
        self._consumer: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()  # guards _roots and _paused (GUI thread vs consumer)
        self._paused: set[str] = set()
        self._all_paused = False
        self._pending = _Pending()

    # -- public API ---------------------------------------------------------------------------
    @staticmethod
    def _norm(root: str | os.PathLike) -> str:
        return os.path.realpath(os.fspath(root))

    @property
    def roots(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(self._roots)

    @property
    def running(self) -> bool:
        return self._consumer is not None and self._consumer.is_alive()

    def start(self) -> None:
        """Start the observer and the consumer thread; roots that do not exist are skipped with a warning."""
        if self.running:
            return
        self._stop.clear()
        self._observer = Observer()
        with self._lock:
            for root in list(self._roots):
                self._roots[root] = self._schedule(root)
        self._observer.daemon = True
        self._observer.start()
        self._consumer = threading.Thread(target=self._run, name="mgdesk-watch", daemon=True)
        self._consumer.start()

    def stop(self) -> None:
        """Stop watching; pending events that were not delivered yet are dropped (a rescan catches them)."""
        self._stop.set()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._observer = None
        if self._consumer is not None:
            self._consumer.join(timeout=5)
            self._consumer = None

    def add_root(self, root: str | os.PathLike) -> None:
        root = self._norm(root)
        with self._lock:
            if root in self._roots:
                return
            self._roots[root] = self._schedule(root) if self._observer is not None else None

    def remove_root(self, root: str | os.PathLike) -> None:
        root = self._norm(root)
        with self._lock:
            watch = self._roots.pop(root, None)
            self._paused.discard(root)
        if watch is not None and self._observer is not None:
            try:
                self._observer.unschedule(watch)
            except (KeyError, ValueError):
                pass

    def pause(self, root: str | os.PathLike | None = None) -> None:
        """Hold back batches for `root` (all roots when None); events keep being coalesced."""
        with self._lock:
            if root is None:
                self._all_paused = True
            else:
                self._paused.add(self._norm(root))

    def resume(self, root: str | os.PathLike | None = None) -> None:
        with self._lock:
            if root is None:
                self._all_paused = False
                self._paused.clear()
            else:
                self._paused.discard(self._norm(root))

    def is_paused(self, root: str | os.PathLike | None = None) -> bool:
        with self._lock:
            if root is None:
                return self._all_paused
            return self._all_paused or self._norm(root) in self._paused

    # -- internals ----------------------------------------------------------------------------
    def _schedule(self, root: str):
        if not os.path.isdir(root):
            log.warning("not watching %s: it is not a folder", root)
            return None
        try:
            return self._observer.schedule(self._handler, root, recursive=True)
        except OSError as exc:  # e.g. inotify watch limit reached
            log.warning("cannot watch %s: %s", root, exc)
            return None

    def _wanted(self, path: str) -> bool:
        if self._suffixes is None:
            return True
        return os.path.splitext(path)[1].lower() in self._suffixes

    def _root_of(self, path: str, roots: Collection[str]) -> str | None:
        best = None
        for root in roots:
            if is_under(path, root):
                if best is None or len(root) > len(best):
                    best = root
        return best

    def _run(self) -> None:
        tick = max(0.02, min(0.25, self.settle_seconds / 4, self.quiet_seconds / 4))
        while not self._stop.is_set():
            try:
                item = self._q.get(timeout=tick)
            except queue.Empty:
                item = None
            if item is not None:
                self._absorb(item)
                # drain whatever else is there without waiting: bursts cost one pass
                while True:
                    try:
                        self._absorb(self._q.get_nowait())
                    except queue.Empty:
                        break
            try:
                self._maybe_flush()
            except Exception:  # the consumer must survive a failing callback
                log.exception("watch batch handler failed")

    def _absorb(self, item: tuple[str, str, str | None, bool]) -> None:
        kind, src, dst, is_dir = item
        p = self._pending
        now = time.monotonic()
        if p.empty():
            p.first_event = now
        p.last_event = now
        if kind == CHANGED:
            if not self._wanted(src):
                return
            p.deleted.discard(src)
            p.changed[src] = (_signature(src), now)
        elif kind == DELETED:
            if not is_dir and not self._wanted(src):
                return
            p.changed.pop(src, None)
            original = p.moved.pop(src, None)
            p.deleted.add(original if original is not None else src)
            if is_dir:
                prefix = src.rstrip(os.sep) + os.sep
                for path in [q for q in p.changed if q.startswith(prefix)]:
                    del p.changed[path]
        elif kind == MOVED:
            assert dst is not None
            if not is_dir and not (self._wanted(src) or self._wanted(dst)):
                return
            if not is_dir and not self._wanted(dst):  # renamed to something we ignore: gone for us
                self._absorb((DELETED, src, None, False))
                return
            if not is_dir and not self._wanted(src):  # e.g. "photo.jpg.part" → "photo.jpg": a new file
                self._absorb((CHANGED, dst, None, False))
                return
            original = p.moved.pop(src, src)
            if original != dst:
                p.moved[dst] = original
            p.deleted.discard(dst)
            if src in p.changed:  # written then renamed into place: the new name still needs to settle
                del p.changed[src]
                p.changed[dst] = (_signature(dst), now)
            if is_dir:  # children of a moved folder that were still settling follow it
                prefix = src.rstrip(os.sep) + os.sep
                for path in [q for q in p.changed if q.startswith(prefix)]:
                    sig_since = p.changed.pop(path)
                    p.changed[dst.rstrip(os.sep) + os.sep + path[len(prefix):]] = sig_since

    def _maybe_flush(self) -> None:
        p = self._pending
        if p.empty():
            return
        now = time.monotonic()
        settled = now - p.last_event >= self.settle_seconds
        overdue = now - p.first_event >= self.max_wait_seconds
        if not (settled or overdue):
            return
        ready: list[str] = []
        for path, (sig, since) in list(p.changed.items()):
            current = _signature(path)
            if current is None:  # vanished before it settled: nothing to report unless a delete came
                del p.changed[path]
                continue
            if current != sig:
                p.changed[path] = (current, now)  # still being written: wait for another quiet period
            elif now - since >= self.quiet_seconds:
                ready.append(path)
        with self._lock:
            roots = tuple(self._roots)
            held = set(roots) if self._all_paused else set(self._paused)

        def deliverable(path: str) -> bool:
            root = self._root_of(path, roots)
            return root is None or root not in held

        changed = tuple(sorted(q for q in ready if deliverable(q)))
        moved = tuple(sorted((old, new) for new, old in p.moved.items() if deliverable(new)))
        deleted = tuple(sorted(q for q in p.deleted if deliverable(q)))
        if not (changed or moved or deleted):
            if overdue:
                p.first_event = now
            return
        for q in changed:
            del p.changed[q]
        for _, new in moved:
            del p.moved[new]
        p.deleted.difference_update(deleted)
        touched = {self._root_of(q, roots) for q in (*changed, *deleted, *(n for _, n in moved))}
        batch = WatchBatch(changed, moved, deleted, tuple(sorted(r for r in touched if r)))
        p.first_event = now
        log.debug("watch batch: %d changed, %d moved, %d deleted", len(changed), len(moved), len(deleted))
        self._on_batch(batch)
