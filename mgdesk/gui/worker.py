"""The one background worker: a QObject in a QThread that owns the engine Library; immutable payloads out.

The GUI never calls the Library. It calls `LibraryClient` methods, which emit signals queued to the
worker's slots; the worker answers with signals carrying frozen dataclasses. A `threading.Event`
cancels a scan between batches, or a grouping. Group results carry a generation so late answers can be dropped.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMetaObject, QObject, Qt, QThread, QTimer, Signal, Slot

from mgdesk.core.store.records import NOT_DUPLICATE
from mgdesk.core.watch import FolderWatcher, WatchBatch
from mgdesk.paths import is_under

log = logging.getLogger(__name__)


DEVICE_REPORT_DELAY_MS = 1500  # queued behind the first requests the window makes once the library is open

# --------------------------------------------------------------------------------------------------
# payloads (frozen: safe to hand from the worker thread to the GUI thread)
@dataclass(frozen=True)
class MemberInfo:
    path: str
    score: float = 1.0
    keep: bool = False
    reason: str = ""
    size: int = 0
    width: int = 0
    height: int = 0
    format: str = ""
    captured: str | None = None
    camera: str | None = None
    modified: str | None = None

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    @property
    def folder(self) -> str:
        return os.path.dirname(self.path)


@dataclass(frozen=True)
class GroupInfo:
    key: str
    level: str
    members: tuple[MemberInfo, ...]
    reclaimable: int

    @property
    def keep_paths(self) -> tuple[str, ...]:
        return tuple(m.path for m in self.members if m.keep)

    @property
    def suggestion(self) -> MemberInfo:
        return next((m for m in self.members if m.keep), self.members[0])


@dataclass(frozen=True)
class Ready:
    device: str
    model: str


@dataclass(frozen=True)
class ScanProgress:
    done: int
    total: int
    path: str
    rate: float  # images per second
    eta: float | None  # seconds
    phase: str = "scan"  # 'walk' (finding files), 'scan' (reading and embedding), 'metadata', 'done'


@dataclass(frozen=True)
class ScanDone:
    roots: tuple[str, ...]
    summary: str
    cancelled: bool = False
    errors: int = 0
    source: str = "scan"  # "scan" or "watch"
    changes: int = -1  # photos new, changed, moved, restored or removed (-1: not known)
    moves: tuple[tuple[str, str], ...] = ()  # (old path, new path) of photos moved or renamed
    changed: tuple[str, ...] = ()  # paths whose content changed since the last scan


@dataclass(frozen=True)
class GroupingStep:
    """How far a grouping has got: a first one verifies pairs for minutes on a large library."""

    stage: str  # "candidates" | "features" | "verify" | "groups"
    done: int
    total: int


@dataclass(frozen=True)
class GroupsResult:
    generation: int
    level: str
    threshold: float | None
    groups: tuple[GroupInfo, ...]
    cancelled: bool = False  # the user stopped it: no groups, and the ones shown stay


@dataclass(frozen=True)
class SearchHitInfo:
    path: str
    score: float


@dataclass(frozen=True)
class SearchResult:
    query: str
    hits: tuple[SearchHitInfo, ...]


@dataclass(frozen=True)
class TagsResult:
    tags: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class TagPhotosResult:
    label: str
    paths: tuple[str, ...]


@dataclass(frozen=True)
class AlbumTagsResult:
    folder: str
    tags: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class FolderRow:
    path: str
    photos: int
    pending: int
    errors: int
    paused: bool = False
    exists: bool = True


@dataclass(frozen=True)
class FoldersResult:
    folders: tuple[FolderRow, ...]
    error_files: tuple[tuple[str, str], ...] = ()  # (path, message)
    albums: tuple[str, ...] = ()  # folders that hold photos


@dataclass(frozen=True)
class ActionResult:
    kind: str  # "trash", "undo", "keep_all"
    message: str
    paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class WorkerError:
    operation: str
    message: str
    detail: str = ""  # the cause alone, for a view that says what failed in its own words


@dataclass(frozen=True)
class ScanRequest:
    roots: tuple[str, ...]


@dataclass(frozen=True)
class GroupsRequest:
    generation: int
    level: str
    threshold: float | None


@dataclass(frozen=True)
class TrashRequest:
    paths: tuple[str, ...]
    destination: str | None = None
    group: tuple[str, ...] = ()  # every member of the group the paths come from: never all removed


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _renamed_note(record: Any) -> str:
    """What the status message adds when files had to take another name beside a file already
    there (moved into a folder, or put back where another file now is)."""
    renamed = list(_get(record, "renamed", {}).values())
    if not renamed:
        return ""
    return f" ({len(renamed)} under a new name beside a file already there: {_names(renamed)})"


def _names(paths: list[str]) -> str:
    """The first few file names of a list, for a one-line message."""
    return ", ".join(Path(p).name for p in paths[:3]) + (" …" if len(paths) > 3 else "")


def _gone_note(gone: list[str]) -> str:
    """What the status message adds for files that left their place since the groups were listed."""
    if not gone:
        return ""
    return f"; {len(gone)} no longer there (moved or deleted since the groups were listed): {_names(gone)}"


def group_key(paths: Iterable[str]) -> str:
    return hashlib.sha1("\0".join(sorted(paths)).encode("utf-8", "surrogateescape")).hexdigest()[:16]


def _member(m: Any) -> MemberInfo:
    return MemberInfo(
        path=str(_get(m, "path")),
        score=float(_get(m, "score", 1.0) or 0.0),
        keep=bool(_get(m, "keep", False)),
        reason=str(_get(m, "reason", "") or ""),
        size=int(_get(m, "size", 0) or 0),
        width=int(_get(m, "width", 0) or 0),
        height=int(_get(m, "height", 0) or 0),
        format=str(_get(m, "format", "") or ""),
        captured=_get(m, "captured"),
        camera=_get(m, "camera"),
        modified=_get(m, "modified"),
    )


def _group(g: Any, level: str) -> GroupInfo:
    members = tuple(_member(m) for m in _get(g, "members", ()))
    reclaimable = _get(g, "reclaimable", None)
    if reclaimable is None:
        reclaimable = sum(m.size for m in members if not m.keep)
    return GroupInfo(group_key(m.path for m in members), str(_get(g, "level", level)), members, int(reclaimable))


# --------------------------------------------------------------------------------------------------
class LibraryWorker(QObject):
    """Lives in the worker thread; creates the Library there (torch model, writing DB connection, FAISS)."""

    ready = Signal(object)  # Ready
    progress = Signal(object)  # ScanProgress
    scanFinished = Signal(object)  # ScanDone
    groupsReady = Signal(object)  # GroupsResult
    groupingProgress = Signal(object)  # GroupingStep
    searchReady = Signal(object)  # SearchResult
    tagsReady = Signal(object)  # TagsResult
    tagPhotosReady = Signal(object)  # TagPhotosResult
    albumTagsReady = Signal(object)  # AlbumTagsResult
    foldersReady = Signal(object)  # FoldersResult
    actionDone = Signal(object)  # ActionResult
    failed = Signal(object)  # WorkerError
    busyChanged = Signal(bool)
    deviceKnown = Signal(str)  # "CPU", "CUDA": found after the start's first work when no model is loaded

    def __init__(self, cancel: threading.Event, *, db_path: Path | None = None, model: str = "lite0",
                 device: str | None = None, exclude: tuple[str, ...] = (), keep_rules: Any = None,
                 library_factory: Callable[..., Any] | None = None) -> None:
        super().__init__()
        self._exclude = tuple(exclude)
        self._keep_rules = keep_rules
        self._cancel = cancel
        self._db_path = db_path
        self._model = model
        self._device = device
        self._factory = library_factory
        self.library: Any = None
        self._raw_groups: dict[str, Any] = {}
        self._pending: dict[str, set[str]] = {}  # root -> changed paths held while paused

    # -- lifecycle ----------------------------------------------------------------------------
    @Slot()
    def start(self) -> None:
        try:
            if self._factory is not None:
                self.library = self._factory(db_path=self._db_path, model=self._model, device=self._device)
            else:
                from mgdesk.core.service import Library

                self.library = Library(db_path=self._db_path, model=self._model, device=self._device,
                                       exclude=self._exclude, keep_rules=self._keep_rules)
        except Exception as exc:
            log.exception("cannot open the library")
            self.failed.emit(WorkerError("open", f"Cannot open the library: {exc}"))
            return
        loaded = getattr(self.library, "_embedder", None) is not None
        self.ready.emit(Ready(device=self._device_name() if loaded else "", model=self._model))
        if not loaded:  # finding the device imports torch (seconds): after the start's scan and groups
            QTimer.singleShot(DEVICE_REPORT_DELAY_MS, self._report_device)
        self.refreshFolders()

    @Slot()
    def _report_device(self) -> None:
        if self.library is not None:
            self.deviceKnown.emit(self._device_name())

    def _device_name(self) -> str:
        """The embedder's device when it is loaded, else the one it will pick ("auto": CUDA if there)."""
        loaded = getattr(self.library, "_embedder", None)
        try:
            if loaded is not None:
                value = loaded.device
            else:
                from mgdesk.core.service import long_lived

                with long_lived():  # this imports torch
                    from mgdesk.core.embedding import pick_device

                    value = pick_device(self._device)
        except Exception:
            value = self._device or "cpu"
        return str(value).split(":")[0].upper()

    @Slot()
    def shutdown(self) -> None:
        lib, self.library = self.library, None
        close = getattr(lib, "close", None)
        if close is not None:
            try:
                close()
            except Exception:
                log.exception("closing the library failed")

    def _guard(self, operation: str, fn: Callable[[], None]) -> None:
        if self.library is None:
            self.failed.emit(WorkerError(operation, "The library is not open."))
            return
        self.busyChanged.emit(True)
        try:
            fn()
        except Exception as exc:
            log.exception("%s failed", operation)
            self.failed.emit(WorkerError(operation, f"{operation.capitalize()} failed: {exc}", str(exc)))
        finally:
            self.busyChanged.emit(False)

    # -- roots ----------------------------------------------------------------------------------
    def _root_records(self) -> list[tuple[str, bool]]:
        return [(str(_get(r, "path", r)), bool(_get(r, "paused", False))) for r in self.library.roots()]

    def _roots(self) -> list[str]:
        return [path for path, _ in self._root_records()]

    @property
    def _paused(self) -> set[str]:
        return {path for path, paused in self._root_records() if paused}

    @Slot(str)
    def addRoot(self, root: str) -> None:
        def run() -> None:
            self.library.add_root(root)
            self.refreshFolders()
            self._scan((root,), source="scan")
        self._guard("add folder", run)

    @Slot(str)
    def removeRoot(self, root: str) -> None:
        def run() -> None:
            holding = self.library.remove_root(root) or ()
            self._pending.pop(root, None)
            self.refreshFolders()
            self.actionDone.emit(ActionResult("remove_root", f"Stopped watching {root}", (root,)))
            if holding:  # some of its photos are also under another watched folder: keep them
                self._scan(tuple(holding), source="scan")
        self._guard("remove folder", run)

    @Slot(str, bool)
    def setPaused(self, root: str, paused: bool) -> None:
        """Paused folders are not scanned; their watch events are held (counted as pending) until resumed."""
        def run() -> None:
            self.library.set_root_paused(root, paused)
            if not paused and self._pending.pop(root, None):
                self._scan((root,), source="watch")
            self.refreshFolders()
        self._guard("pause", run)

    # -- scanning ------------------------------------------------------------------------------
    @Slot(object)
    def scan(self, request: ScanRequest) -> None:
        roots = request.roots or tuple(self._roots())
        self._guard("scan", lambda: self._scan(roots, source="scan"))

    def _scan(self, roots: tuple[str, ...], source: str) -> None:
        paused = self._paused
        roots = tuple(r for r in roots if r not in paused)
        missing = tuple(r for r in roots if not os.path.isdir(r))
        if missing:  # e.g. an unplugged disk: skip it, scan the others, keep its photos in the library
            self.failed.emit(WorkerError("scan", "Folder not found (skipped): " + ", ".join(missing)))
            roots = tuple(r for r in roots if r not in missing)
        if not roots:
            return
        started = time.monotonic()
        last_emit, last_phase = [0.0], [""]

        def progress(done: Any, total: int = 0, path: str = "", rate: float | None = None, *_: Any) -> None:
            phase = "scan"
            if hasattr(done, "done"):  # the engine's ScanProgress(phase, done, total, current, rate)
                phase = str(getattr(done, "phase", "scan"))
                done, total, path, rate = done.done, done.total, done.current, done.rate
            now = time.monotonic()
            # throttle: the GUI needs ~10 updates/s at most, but every change of phase and every end
            if now - last_emit[0] < 0.1 and phase == last_phase[0] and not 0 < total <= done:
                return
            last_emit[0], last_phase[0] = now, phase
            if rate is None or rate <= 0:
                rate = done / max(now - started, 1e-6)
            eta = (total - done) / rate if rate and total >= done and phase == "scan" else None
            self.progress.emit(ScanProgress(int(done), int(total), str(path or ""), float(rate or 0.0), eta, phase))

        try:
            report = self.library.scan(list(roots), progress=progress, cancel=self._cancel)
            cancelled = self._cancel.is_set() or bool(_get(report, "cancelled", False))
        finally:
            self._cancel.clear()  # a cancel stops this scan, not the next watch-triggered one
        errors = _get(report, "errors", 0)
        n_errors = len(errors) if isinstance(errors, (list, tuple, set, dict)) else int(errors or 0)
        summary = str(_get(report, "summary", "") or "") or self._summary(report, len(self.library.errors()))
        for root in roots:
            self._pending.pop(root, None)
        changes = sum(int(_get(report, k, 0) or 0) for k in ("new", "changed", "moved", "restored", "removed"))
        moves = tuple((_get(report, "moves", None) or {}).items())
        changed = tuple(_get(report, "changed_paths", None) or ())
        self.scanFinished.emit(ScanDone(tuple(roots), summary, cancelled, n_errors, source, changes, moves, changed))
        self.refreshFolders()

    @staticmethod
    def _summary(report: Any, unreadable: int) -> str:
        """What the scan found; the unreadable files are all the library's, as the Folders view
        lists them (a file that failed before and did not change is "unchanged" to the scan)."""
        parts = []
        for name in ("new", "changed", "moved", "restored", "removed", "unchanged"):
            value = _get(report, name, None)
            if value is None or (name == "restored" and not value):  # only a folder added back has any
                continue
            n = len(value) if isinstance(value, (list, tuple, set, dict)) else value
            parts.append(f"{n} {name}")
        if unreadable:
            parts.append(f"{unreadable} cannot be read (see Folders)")
        return ", ".join(parts) or "Scan finished"

    @Slot(object)
    def applyChanges(self, batch: WatchBatch) -> None:
        """A watch batch: paused roots hold their changes; the rest are reconciled by an incremental scan
        of only the folders the changed paths sit in (not the whole watched root)."""
        roots = self._roots()
        touched: set[str] = set()
        for path in (*batch.changed, *batch.deleted, *(p for pair in batch.moved for p in pair)):
            root = next((r for r in roots if is_under(path, r) or is_under(path, os.path.realpath(r))), None)
            if root is None:
                continue
            if root in self._paused:
                self._pending.setdefault(root, set()).add(path)
            else:
                touched.add(_nearest_existing_folder(path, root))
        touched = {d for d in touched if not any(d != o and is_under(d, o) for o in touched)}
        if touched:
            self._guard("scan", lambda: self._scan(tuple(sorted(touched)), source="watch"))
        elif self._pending:
            self.refreshFolders()

    # -- queries -------------------------------------------------------------------------------
    @Slot(object)
    def loadGroups(self, request: GroupsRequest) -> None:
        last = {"at": 0.0, "stage": ""}

        def progress(p: Any) -> None:  # at most ten a second, and every stage's first and last step
            now = time.monotonic()
            if p.stage != last["stage"] or p.done >= p.total or now - last["at"] >= 0.1:
                last.update(at=now, stage=p.stage)
                self.groupingProgress.emit(GroupingStep(p.stage, p.done, p.total))

        def run() -> None:
            try:
                raw = self.library.groups(level=request.level, threshold=request.threshold,
                                          progress=progress, cancel=self._cancel)
                if self._cancel.is_set():  # stopped: the verdicts so far are kept for next time
                    self.groupsReady.emit(GroupsResult(request.generation, request.level,
                                                       request.threshold, (), cancelled=True))
                    return
            finally:
                self._cancel.clear()  # a cancel stops this grouping, not the next scan
            groups = [_group(g, request.level) for g in raw]
            self._raw_groups = {info.key: g for info, g in zip(groups, raw)}
            groups.sort(key=lambda g: (-g.reclaimable, g.members[0].path if g.members else ""))
            self.groupsReady.emit(GroupsResult(request.generation, request.level, request.threshold, tuple(groups)))
        self._guard("grouping", run)

    @Slot(str, int)
    def search(self, image_path: str, k: int) -> None:
        def run() -> None:
            hits = self.library.search(image_path, k=k)
            infos = tuple(SearchHitInfo(str(_get(h, "path")), float(_get(h, "score", 0.0))) for h in hits)
            self.searchReady.emit(SearchResult(image_path, infos))
        self._guard("search", run)

    @Slot()
    def loadTags(self) -> None:
        def run() -> None:
            tags = tuple((str(t[0]), int(t[1])) if isinstance(t, (tuple, list))
                         else (str(_get(t, "label", t)), int(_get(t, "count", 0))) for t in self.library.tags())
            self.tagsReady.emit(TagsResult(tags))
        self._guard("tags", run)

    @Slot(str)
    def loadTagPhotos(self, label: str) -> None:
        def run() -> None:
            photos = self.library.photos_with_tag(label)
            paths = tuple(str(p[0]) if isinstance(p, (tuple, list)) else str(_get(p, "path", p)) for p in photos)
            self.tagPhotosReady.emit(TagPhotosResult(label, paths))
        self._guard("tags", run)

    @Slot(str)
    def loadAlbumTags(self, folder: str) -> None:
        def run() -> None:
            try:
                raw = self.library.album_tags(folder)
            except TypeError:  # album_tags() without a folder returns all albums
                raw = self.library.album_tags()
                if isinstance(raw, dict):
                    raw = raw.get(folder, [])
            tags = []
            for t in raw or ():
                if isinstance(t, tuple):
                    tags.append((str(t[0]), float(t[1])))
                else:
                    tags.append((str(_get(t, "label", t)), float(_get(t, "share", _get(t, "score", _get(t, "count", 0))))))
            self.albumTagsReady.emit(AlbumTagsResult(folder, tuple(tags)))
        self._guard("album tags", run)

    @Slot()
    def refreshFolders(self) -> None:
        if self.library is None:
            return
        try:
            records = self._root_records()
            errors = list(self.library.errors())
            error_files = tuple((str(_get(e, "path", e)), str(_get(e, "error_message", "") or _get(e, "error", "")
                                                              or _get(e, "error_reason", "") or ""))
                                for e in errors)
            stats, albums = self._folder_stats([r for r, _ in records])
            rows = []
            for root, paused in records:
                photos, pending, n_err = stats.get(root, (0, 0, 0))
                if root not in stats:
                    n_err = sum(1 for p, _ in error_files if is_under(p, root))
                rows.append(FolderRow(root, photos, pending + len(self._pending.get(root, ())), n_err,
                                      paused, os.path.isdir(root)))
            self.foldersReady.emit(FoldersResult(tuple(rows), error_files, tuple(sorted(albums))))
        except Exception as exc:
            log.exception("folder stats failed")
            self.failed.emit(WorkerError("folders", f"Cannot read folder statistics: {exc}"))

    def _folder_stats(self, roots: list[str]) -> tuple[dict[str, tuple[int, int, int]], set[str]]:
        """(photos, pending, errors) per root and the folders that hold photos.

        The Library has no per-root count yet, so this reads its repository (still in the worker thread).
        """
        repo = getattr(self.library, "repo", None)
        if repo is None or not hasattr(repo, "files_under"):
            return {}, set()
        stats: dict[str, tuple[int, int, int]] = {}
        albums: set[str] = set()
        for root in roots:
            n = {"ok": 0, "pending": 0, "error": 0}
            for f in repo.files_under([root]):
                status = str(getattr(f.status, "value", f.status))
                if status in n:
                    n[status] += 1
                if status == "ok":
                    albums.add(f.folder)
            stats[root] = (n["ok"], n["pending"], n["error"])
        return stats, albums

    # -- actions -------------------------------------------------------------------------------
    @Slot(object)
    def trash(self, request: TrashRequest) -> None:
        def run() -> None:
            # the list the user acted on may be older than the disk: a file already gone is not
            # asked for again (it would fail the whole action); the message names it
            gone = [p for p in request.paths if not os.path.lexists(p)]
            paths = [p for p in request.paths if p not in gone]
            note = _gone_note(gone)
            if not paths:
                self.actionDone.emit(ActionResult("trash", "Nothing was moved" + note, tuple(gone)))
                return
            record = self.library.trash(paths, destination=request.destination,
                                        groups=[list(request.group)] if request.group else ())
            moved = tuple(str(_get(i, "original_path")) for i in _get(record, "items", ()) if _get(i, "done", True))
            failed = [i for i in _get(record, "items", ()) if not _get(i, "done", True)]
            where = request.destination or "the trash"
            n = len(moved)
            message = f"Moved {n} file{'s' * (n != 1)} to {where}" + _renamed_note(record) + note
            if failed:
                message += f"; could not move {Path(failed[0].original_path).name}: {failed[0].error}" + (
                    f" (and {len(failed) - 1} more)" if len(failed) > 1 else "")
            self.actionDone.emit(ActionResult("trash", message, moved + tuple(gone)))
            self.refreshFolders()
        self._guard("trash", run)

    @Slot()
    def undo(self) -> None:
        def run() -> None:
            record = self.library.undo()
            if record is None:
                self.actionDone.emit(ActionResult("undo", "Nothing to undo"))
                return
            paths = tuple(_get(record, "undone_now", ()))
            n = len(paths)
            if _get(record, "kind", "") == NOT_DUPLICATE:
                message = f"Undid \u201cNot duplicates\u201d for {n} photos: they may be grouped again"
            else:
                roots = self._roots()
                unwatched = sum(1 for p in paths if not any(is_under(p, r) for r in roots))
                left = list(_get(record, "undoable_items", ()))
                message = f"Restored {n} file{'s' * (n != 1)}" + _renamed_note(record) + (
                    f" ({unwatched} into a folder mgdesk no longer watches: not shown in groups or search)"
                    if unwatched else "") + (
                    f"; {len(left)} could not be: {str(left[0].error).removeprefix('undo: ')} (put "
                    f"{'it' if len(left) == 1 else 'them'} back and undo again)" if left else "")
            self.actionDone.emit(ActionResult("undo", message, paths))
            self.refreshFolders()
        self._guard("undo", run)

    @Slot(str)
    def keepAll(self, key: str) -> None:
        def run() -> None:
            group = self._raw_groups.get(key)
            if group is None:
                raise LookupError("that group is no longer current; refresh and retry")
            self.library.keep_all(group)
            paths = tuple(str(_get(m, "path")) for m in _get(group, "members", ()))
            self.actionDone.emit(ActionResult("keep_all", f"Marked {len(paths)} photos as not duplicates of each "
                                              "other; Ctrl+Z takes it back", paths))
        self._guard("keep all", run)


# --------------------------------------------------------------------------------------------------
class _WatchBridge(QObject):
    """Carries watch batches from the watcher's consumer thread to the worker thread as a queued signal."""

    batch = Signal(object)

    def __call__(self, batch: WatchBatch) -> None:  # runs on the watcher's thread: only emits
        self.batch.emit(batch)


class LibraryClient(QObject):
    """GUI-thread handle on the worker: methods emit queued requests, results arrive as the worker's signals."""

    _start = Signal()
    _scan = Signal(object)
    _groups = Signal(object)
    _search = Signal(str, int)
    _tags = Signal()
    _tagPhotos = Signal(str)
    _albumTags = Signal(str)
    _folders = Signal()
    _addRoot = Signal(str)
    _removeRoot = Signal(str)
    _setPaused = Signal(str, bool)
    _trash = Signal(object)
    _undo = Signal()
    _keepAll = Signal(str)

    def __init__(self, parent: QObject | None = None, *, db_path: Path | None = None, model: str = "lite0",
                 device: str | None = None, quiet_seconds: float = 2.0, exclude: tuple[str, ...] = (),
                 keep_rules: Any = None, library_factory: Callable[..., Any] | None = None,
                 watch: bool = True) -> None:
        super().__init__(parent)
        self.cancel_event = threading.Event()
        self.thread = QThread()
        self.thread.setObjectName("mgdesk-worker")
        self.worker = LibraryWorker(self.cancel_event, db_path=db_path, model=model, device=device,
                                    exclude=exclude, keep_rules=keep_rules, library_factory=library_factory)
        self.worker.moveToThread(self.thread)
        w = self.worker
        for sig, slot in ((self._start, w.start), (self._scan, w.scan), (self._groups, w.loadGroups),
                          (self._search, w.search), (self._tags, w.loadTags), (self._tagPhotos, w.loadTagPhotos),
                          (self._albumTags, w.loadAlbumTags), (self._folders, w.refreshFolders),
                          (self._addRoot, w.addRoot), (self._removeRoot, w.removeRoot),
                          (self._setPaused, w.setPaused), (self._trash, w.trash), (self._undo, w.undo),
                          (self._keepAll, w.keepAll)):
            sig.connect(slot, Qt.ConnectionType.QueuedConnection)
        self._bridge = _WatchBridge()
        self._bridge.moveToThread(self.thread)
        self._bridge.batch.connect(w.applyChanges, Qt.ConnectionType.QueuedConnection)
        self._watch_enabled = watch
        self._quiet = quiet_seconds
        self.watcher: FolderWatcher | None = None
        self._generation = 0
        self._started = False

    # -- lifecycle
    def start(self) -> None:
        if self._started:
            return
        self._started = True
        self.thread.start()
        self._start.emit()

    def shutdown(self) -> None:
        """Cancel what runs, stop watching, let the worker close the Library in its own thread, join it."""
        if not self._started:
            return
        self._started = False
        self.cancel_event.set()
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None
        QMetaObject.invokeMethod(self.worker, "shutdown", Qt.ConnectionType.BlockingQueuedConnection)
        self.thread.quit()
        self.thread.wait()

    # -- watching (roots come from the worker's FoldersResult)
    def watch_roots(self, roots: Iterable[str]) -> None:
        if not self._watch_enabled:
            return
        roots = list(roots)
        current = set(self.watcher.roots) if self.watcher else set()
        wanted = {os.path.realpath(r) for r in roots}
        if self.watcher is None:
            self.watcher = FolderWatcher(roots, self._bridge, quiet_seconds=self._quiet, suffixes=_suffixes())
            self.watcher.start()
            return
        for r in wanted - current:
            self.watcher.add_root(r)
        for r in current - wanted:
            self.watcher.remove_root(r)

    # -- requests
    def scan(self, roots: Iterable[str] = ()) -> None:
        self.cancel_event.clear()
        self._scan.emit(ScanRequest(tuple(roots)))

    def cancel(self) -> None:
        self.cancel_event.set()

    def groups(self, level: str, threshold: float | None = None) -> int:
        self._generation += 1
        self._groups.emit(GroupsRequest(self._generation, level, threshold))
        return self._generation

    @property
    def generation(self) -> int:
        return self._generation

    def search(self, image_path: str, k: int = 40) -> None:
        self._search.emit(str(image_path), int(k))

    def tags(self) -> None:
        self._tags.emit()

    def tag_photos(self, label: str) -> None:
        self._tagPhotos.emit(label)

    def album_tags(self, folder: str) -> None:
        self._albumTags.emit(folder)

    def folders(self) -> None:
        self._folders.emit()

    def add_root(self, root: str) -> None:
        self.cancel_event.clear()
        self._addRoot.emit(str(root))

    def remove_root(self, root: str) -> None:
        self._removeRoot.emit(str(root))

    def set_paused(self, root: str, paused: bool) -> None:
        # the worker holds a paused folder's changes (and counts them as pending) until resumed
        self._setPaused.emit(str(root), bool(paused))

    def trash(self, paths: Iterable[str], destination: str | None = None, group: Iterable[str] = ()) -> None:
        self._trash.emit(TrashRequest(tuple(paths), destination, tuple(group)))

    def undo(self) -> None:
        self._undo.emit()

    def keep_all(self, key: str) -> None:
        self._keepAll.emit(key)


def _suffixes() -> frozenset[str] | None:
    try:
        from mgdesk.core.imaging import SUPPORTED_SUFFIXES
    except ImportError:
        return None
    return frozenset(s.lower() for s in SUPPORTED_SUFFIXES)


def _nearest_existing_folder(path: str, root: str) -> str:
    """The folder holding `path`, or its closest ancestor that still exists, never above `root`."""
    folder = os.path.dirname(path)
    while folder and not os.path.isdir(folder) and is_under(folder, root) and folder != root:
        folder = os.path.dirname(folder)
    return folder if folder and is_under(folder, root) and os.path.isdir(folder) else root
