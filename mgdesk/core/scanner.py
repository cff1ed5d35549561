"""Walking folders and bringing the store up to date: signatures, content hashes, incremental embedding.

A scan is resumable: it commits one ONE transaction per batch (file rows + embeddings + tags), so a
kill mid-scan loses at most the batch in flight; the next scan sees those files as new again.
Unchanged files (same size and mtime_ns) are neither read nor written.
"""

from __future__ import annotations

import fnmatch
import hashlib
import logging
import os
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from mgdesk.core.store import FileRecord, FileStatus, Repository

log = logging.getLogger(__name__)

PARTIAL_BYTES = 64 * 1024
HASH_CHUNK = 1024 * 1024
WALK_REPORT_EVERY = 200  # files found between two progress reports while listing the folders

# Folders that never hold the user's photos: VCS, NAS thumbnails, OS trash and indexes.
SYSTEM_FOLDERS = frozenset({
    ".git", ".hg", ".svn", "@eaDir", "#recycle", "$RECYCLE.BIN", "RECYCLER", "System Volume Information",
    ".Trashes", ".Trash", ".Spotlight-V100", ".fseventsd", ".DocumentRevisions-V100", ".TemporaryItems",
    ".thumbnails", ".cache", "Thumbs", "lost+found", "__MACOSX", "node_modules", "__pycache__",
})
_SYSTEM_LOWER = frozenset(n.lower() for n in SYSTEM_FOLDERS)
# Folders of the running system, by their full path (a user's own "dev" folder is another
# matter): kernel and device views whose "files" are processes and devices, never photos
VIRTUAL_FOLDERS = ("/proc", "/sys", "/dev", "/run") if sys.platform.startswith("linux") else ()


def _virtual_folder_ids() -> set[tuple[int, int]]:
    """(st_dev, st_ino) of VIRTUAL_FOLDERS: walk counts them as visited, so neither a root of /
    nor a link to one of them enters it."""
    ids = set()
    for path in VIRTUAL_FOLDERS:
        try:
            st = os.stat(path)
        except OSError:
            continue
        ids.add((st.st_dev, st.st_ino))
    return ids


class EmbedderLike(Protocol):
    model_name: str
    dim: int

    def embed_paths(self, paths: Sequence[str], progress: Any = None, cancel: Any = None) -> Iterator[Any]: ...


@dataclass(frozen=True)
class FoundFile:
    path: str
    size: int
    mtime_ns: int
    dev: int
    ino: int


@dataclass(frozen=True)
class ScanProgress:
    """Passed to the progress callback: `done` of `total` files, the current path, files/second."""
    phase: str  # 'walk' | 'scan' | 'metadata' (headers of photos from an older library) | 'done'
    done: int
    total: int
    current: str | None
    rate: float


@dataclass
class ScanReport:
    new: int = 0
    changed: int = 0
    moved: int = 0
    restored: int = 0  # marked missing, then found again unchanged at the same path (a folder added back)
    unchanged: int = 0
    removed: int = 0
    errors: int = 0
    embedded: int = 0
    seconds: float = 0.0
    cancelled: bool = False
    skipped_aliases: int = 0
    # (path, why) of what could not be read at all: folders that cannot be listed (the photos
    # known under them are left as they were, not marked removed) and names that are not UTF-8
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    # ids whose descriptor for the model appeared or changed / that left the index
    updated_ids: set[int] = field(default_factory=set)
    removed_ids: set[int] = field(default_factory=set)
    # where moved or renamed photos went (old path -> new path): views that show one follow it
    moves: dict[str, str] = field(default_factory=dict)
    # paths whose content changed (edited in place, or another file renamed onto them): pictures
    # of them shown or cached in memory are stale
    changed_paths: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, Any]:
        return {**{k: getattr(self, k) for k in ("new", "changed", "moved", "restored", "unchanged", "removed",
                                                 "errors", "embedded", "seconds", "cancelled", "skipped_aliases")},
                "unreadable": len(self.unreadable)}


#: LoadFailure values of failures that may pass (the file vanished, or was locked or unreadable for
#: now): such a file is read again, not taken as known
_PASSING = ("missing", "unreadable")


def _came_back(rec: FileRecord, f: FoundFile) -> bool:
    """A file marked missing (its folder unwatched, a disk unplugged) is found again at its path,
    unchanged by size, time and inode: with its embedding kept, it needs no reading."""
    return (rec.status == FileStatus.MISSING and rec.hash is not None and rec.error_reason not in _PASSING
            and rec.size == f.size and rec.mtime_ns == f.mtime_ns
            and (rec.ino is None or (rec.dev, rec.ino) == (f.dev, f.ino)))


def _transient(exc: BaseException) -> bool:
    """A read failure that may pass (the file vanished, or is locked or unreadable for now)."""
    reason = getattr(exc, "reason", None)  # an ImageLoadError's LoadFailure (a str); a plain OSError has none
    return reason is None or reason in _PASSING


def supported_suffixes() -> frozenset[str]:
    from mgdesk.core.imaging import SUPPORTED_SUFFIXES
    return frozenset(s.lower() for s in SUPPORTED_SUFFIXES)


def _matches(rel: str, name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(rel, p) for p in patterns)


def is_skipped_folder(name: str, skip_hidden: bool = True) -> bool:
    return name.lower() in _SYSTEM_LOWER or (skip_hidden and name.startswith("."))


def walk(roots: Iterable[str | Path], *, include: Sequence[str] = (), exclude: Sequence[str] = (),
         skip_hidden: bool = True, suffixes: frozenset[str] | None = None,
         errors: list[tuple[str, str]] | None = None, cancel: threading.Event | None = None
         ) -> Iterator[FoundFile]:
    """Yield each image file under the roots once.

    Symlinked folders are followed, but every directory is entered once by (st_dev, st_ino), so
    loops end and aliases are not walked twice; files are deduplicated by (st_dev, st_ino) too, so
    hard links and case-variant paths on case-insensitive disks are one file, and a symlinked
    file is that file under its real path when that is under a root too. `include` patterns
    (globs on the name or the path relative to its root) replace the suffix filter; `exclude`
    patterns drop files and whole folders. A set `cancel` ends the listing at the next folder.
    """
    suffixes = supported_suffixes() if suffixes is None else suffixes
    visited_dirs: set[tuple[int, int]] = _virtual_folder_ids()
    seen_files: set[tuple[int, int]] = set()
    links: list[FoundFile] = []  # symlinked files: one name of a photo, the real one preferred
    for root in roots:
        root = os.path.abspath(os.fspath(root))
        try:
            st = os.stat(root)
        except OSError as e:
            if errors is not None:
                errors.append((root, str(e)))
            # the caller reports what it is handed in `errors`; a log line would say it twice
            log.log(logging.INFO if errors is not None else logging.WARNING, "cannot read %s: %s", root, e)
            continue
        if stat.S_ISREG(st.st_mode):  # a single file given as a root
            key = (st.st_dev, st.st_ino)
            if key not in seen_files:
                seen_files.add(key)
                yield FoundFile(root, st.st_size, st.st_mtime_ns, st.st_dev, st.st_ino)
            continue
        stack = [root]
        while stack:
            if cancel is not None and cancel.is_set():
                return
            folder = stack.pop()
            try:
                dst = os.stat(folder)
            except OSError as e:
                if errors is not None:
                    errors.append((folder, str(e)))
                continue
            key = (dst.st_dev, dst.st_ino)
            if key in visited_dirs:
                continue
            visited_dirs.add(key)
            try:
                with os.scandir(folder) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError as e:
                log.log(logging.INFO if errors is not None else logging.WARNING, "cannot list %s: %s", folder, e)
                if errors is not None:
                    errors.append((folder, str(e)))
                continue
            subdirs = []
            for entry in entries:
                if not _utf8(entry.name):  # the library (SQLite, JSON) holds names as UTF-8
                    if errors is not None:
                        errors.append((printable_path(entry.path), NOT_UTF8))
                    continue
                rel = os.path.relpath(entry.path, root)
                try:
                    if entry.is_dir(follow_symlinks=True):
                        if is_skipped_folder(entry.name, skip_hidden) or _matches(rel, entry.name, exclude):
                            continue
                        subdirs.append(entry.path)
                        continue
                    if not entry.is_file(follow_symlinks=True):
                        continue
                except OSError:
                    continue
                if skip_hidden and entry.name.startswith("."):
                    continue
                if include:
                    if not _matches(rel, entry.name, include):
                        continue
                elif os.path.splitext(entry.name)[1].lower() not in suffixes:
                    continue
                if exclude and _matches(rel, entry.name, exclude):
                    continue
                try:
                    fst = entry.stat(follow_symlinks=True)
                except OSError as e:  # vanished or dangling link
                    if errors is not None:
                        errors.append((entry.path, str(e)))
                    continue
                fkey = (fst.st_dev, fst.st_ino)
                if fkey in seen_files:
                    continue
                if entry.is_symlink():  # the photo itself, if it is under a root, goes first
                    links.append(FoundFile(entry.path, fst.st_size, fst.st_mtime_ns, fst.st_dev, fst.st_ino))
                    continue
                seen_files.add(fkey)
                yield FoundFile(entry.path, fst.st_size, fst.st_mtime_ns, fst.st_dev, fst.st_ino)
            stack.extend(reversed(subdirs))
    for link in links:  # links to photos found nowhere else under the roots
        if (link.dev, link.ino) not in seen_files:
            seen_files.add((link.dev, link.ino))
            yield link


#: what walk() says of a name it cannot keep (the library holds names as UTF-8)
NOT_UTF8 = "its name is not valid UTF-8; rename it to scan it"


def _utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # bytes the file system could not decode (surrogate escapes)
        return False
    return True


def printable_path(path: str) -> str:
    """A path that can be printed and stored: undecodable bytes shown as \\xNN."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def hash_file(path: str) -> tuple[str, str]:
    """(partial, full) blake2b hex of the file: partial = size + first and last 64 KiB; full streamed."""
    full = hashlib.blake2b(digest_size=20)
    partial = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        partial.update(size.to_bytes(8, "little"))
        first = True
        while chunk := f.read(HASH_CHUNK):
            if first:
                partial.update(chunk[:PARTIAL_BYTES])
                first = False
            full.update(chunk)
        if size > PARTIAL_BYTES:
            f.seek(max(0, size - PARTIAL_BYTES))
            partial.update(f.read(PARTIAL_BYTES))
    return partial.hexdigest(), full.hexdigest()


def _failure_value(name: str) -> str:
    try:
        from mgdesk.core.imaging import LoadFailure
        return LoadFailure[name].value
    except (ImportError, KeyError):
        return name.lower()


@dataclass
class _Work:
    found: FoundFile
    kind: str  # 'new' | 'changed' | 'embed' (unchanged file lacking this model's embedding or views)
    record: FileRecord | None = None
    partial: str | None = None
    hash: str | None = None


Tagger = Callable[[list[tuple[int, float]]], list[tuple[int, str, float]]]


class Scanner:
    """Brings the store up to date with the folders; one Scanner per writing connection."""

    def __init__(self, repo: Repository, embedder: EmbedderLike, *, tagger: Tagger | None = None,
                 include: Sequence[str] = (), exclude: Sequence[str] = (), skip_hidden: bool = True,
                 batch_size: int = 32):
        self.repo = repo
        self.embedder = embedder
        self.scan_id: int | None = None  # the scans row of the scan running or last run
        self.tagger = tagger
        self.include = tuple(include)
        self.exclude = tuple(exclude)
        self.skip_hidden = skip_hidden
        self.batch_size = max(1, batch_size)
        self._current: set[int] = set()

    @property
    def model(self) -> str:
        return self.embedder.model_name

    @property
    def _n_views(self) -> int:
        """Rotated views the embedder adds (an embedding with another number of them is stale)."""
        return len(getattr(self.embedder, "view_angles", ()) or ())

    def scan(self, roots: Sequence[str | Path], progress: Callable[[ScanProgress], None] | None = None,
             cancel: threading.Event | None = None) -> ScanReport:
        t0 = time.monotonic()
        report = ScanReport()
        roots = [os.path.abspath(os.fspath(r)) for r in roots]
        for r in roots:
            if not os.path.exists(r):
                raise FileNotFoundError(f"no such folder: {r}")
        with self.repo.transaction():
            for r in roots:
                self.repo.add_root(r)
            scan_id = self.scan_id = self.repo.start_scan(roots, self.model)

        if progress:
            progress(ScanProgress("walk", 0, 0, roots[0] if roots else None, 0.0))
        walk_errors: list[tuple[str, str]] = []
        found: list[FoundFile] = []
        for f in walk(roots, include=self.include, exclude=self.exclude, skip_hidden=self.skip_hidden,
                      errors=walk_errors, cancel=cancel):  # listing a large library takes a while: say so
            found.append(f)
            if progress and len(found) % WALK_REPORT_EVERY == 0:
                progress(ScanProgress("walk", len(found), 0, f.path, 0.0))
        if cancel is not None and cancel.is_set():
            report.cancelled = True  # nothing is marked removed from a partial listing
        found_paths = {f.path for f in found}
        # a folder that cannot be listed now (permissions, a disk gone) hides its photos: they
        # are not removed; a name that is not UTF-8 cannot be kept
        blocked = tuple(p + os.sep for p, _ in walk_errors if os.path.isdir(p))
        report.unreadable = [(p, why) for p, why in walk_errors if why == NOT_UTF8 or os.path.isdir(p)]
        known = self.repo.files_under(roots)
        by_path = {f.path: f for f in known}
        # a name the library cannot hold is listed with the files that cannot be read, under its
        # printable spelling, until it is renamed (then that record is no longer seen: removed)
        bad_names = [p for p, why in walk_errors if why == NOT_UTF8]
        if bad_names:
            self._record_bad_names(bad_names, by_path)
            found_paths.update(bad_names)
        by_inode = {(f.dev, f.ino): f for f in known if f.dev is not None and f.status != FileStatus.MISSING}
        model_ids, _ = self.repo.descriptors(self.model)
        has_embedding = set(model_ids.tolist())
        if self._n_views:  # embedded before the card asked for these views: embed once more
            has_embedding -= self.repo.ids_with_other_views(self.model, self._n_views)
        self._current = has_embedding  # embeddings that need no redoing, as the scan began

        work: list[_Work] = []
        unread_shots: list[FileRecord] = []  # scanned before the library kept capture signatures
        back: list[tuple[FileRecord, FoundFile]] = []
        for f in found:
            rec = by_path.get(f.path)
            if rec is None:
                work.append(_Work(f, "new"))
            elif _came_back(rec, f):
                back.append((rec, f))
            elif rec.size != f.size or rec.mtime_ns != f.mtime_ns or rec.status in (FileStatus.MISSING,
                                                                                       FileStatus.PENDING):
                work.append(_Work(f, "changed", rec))
            elif rec.status == FileStatus.OK and rec.id not in has_embedding:
                work.append(_Work(f, "embed", rec))
            else:
                report.unchanged += 1
                if rec.status == FileStatus.OK and rec.shot is None:
                    unread_shots.append(rec)
        vanished = [r for p, r in by_path.items() if p not in found_paths and r.status != FileStatus.MISSING
                    and not (blocked and p.startswith(blocked))]
        vanished_by_hash: dict[str, list[FileRecord]] = {}
        for r in vanished:
            if r.hash:
                vanished_by_hash.setdefault(r.hash, []).append(r)
        consumed: set[int] = set()

        if back:  # a photo only with an embedding as the model wants it; the others are read again
            embedded = self.repo.ids_with_embedding(self.model, [rec.id for rec, _ in back])
            if self._n_views:
                embedded -= self.repo.ids_with_other_views(self.model, self._n_views)
            work.extend(_Work(f, "changed", rec) for rec, f in back if rec.id not in embedded and not rec.error_reason)
            back = [(rec, f) for rec, f in back if rec.id in embedded or rec.error_reason]
        if back:  # the same file at its old path: known again without reading it (one that could not
            with self.repo.transaction():  # be decoded cannot be again: it keeps its reason)
                for rec, f in back:
                    self.repo.update_file(rec.id, status=FileStatus.ERROR if rec.error_reason else FileStatus.OK,
                                          dev=f.dev, ino=f.ino)
            report.restored = len(back)
            report.updated_ids.update(rec.id for rec, _ in back if not rec.error_reason)

        total, done, started = len(work), 0, time.monotonic()
        if progress:
            progress(ScanProgress("scan", 0, total, None, 0.0))
        for start in range(0, len(work), self.batch_size):
            if cancel is not None and cancel.is_set():
                report.cancelled = True
                break
            batch = work[start:start + self.batch_size]
            self._process_batch(batch, by_inode, vanished_by_hash, consumed, report)
            done += len(batch)
            if progress:
                elapsed = max(time.monotonic() - started, 1e-6)
                progress(ScanProgress("scan", done, total, batch[-1].found.path, done / elapsed))

        if unread_shots and not report.cancelled:
            self._read_shots(unread_shots, progress, cancel, report)
        if not report.cancelled:
            gone = [r for r in vanished if r.id not in consumed]
            if gone:
                with self.repo.transaction():
                    self.repo.set_status([r.id for r in gone], FileStatus.MISSING)
                report.removed = len(gone)
                report.removed_ids.update(r.id for r in gone)
        report.seconds = round(time.monotonic() - t0, 3)
        with self.repo.transaction():
            self.repo.finish_scan(scan_id, report.counts(), report.cancelled)
        if progress:
            progress(ScanProgress("done", done, total, None, done / max(time.monotonic() - started, 1e-6)))
        log.info("scan of %s: %s", roots, report.counts())
        return report

    # ---------------------------------------------------------------------------------------
    def _read_shots(self, records: list[FileRecord], progress: Callable[[ScanProgress], None] | None,
                    cancel: threading.Event | None, report: ScanReport) -> None:
        """Fill in the capture signature of unchanged photos that were scanned before the library
        kept one (schema < 3), from their headers only: once, since "" then records "read, none"."""
        from mgdesk.core.imaging import ImageLoadError, read_info

        started = time.monotonic()
        for start in range(0, len(records), self.batch_size):
            if cancel is not None and cancel.is_set():
                report.cancelled = True
                return
            with self.repo.transaction():
                for rec in records[start:start + self.batch_size]:
                    try:
                        shot = read_info(rec.path).shot or ""
                    except (ImageLoadError, OSError) as exc:
                        log.debug("no capture signature for %s: %s", rec.path, exc)
                        if _transient(exc):
                            continue  # gone or locked for now: try again next scan
                        shot = ""  # the header itself is bad: nothing to find there
                    self.repo.update_file(rec.id, shot=shot)
            if progress:
                done = min(start + self.batch_size, len(records))
                rate = done / max(time.monotonic() - started, 1e-6)
                progress(ScanProgress("metadata", done, len(records), records[done - 1].path, rate))

    def _record_bad_names(self, printable: list[str], by_path: dict[str, FileRecord]) -> None:
        with self.repo.transaction():
            for path in printable:
                rec = by_path.get(path)
                values = {"status": FileStatus.ERROR, "error_reason": _failure_value("UNREADABLE"),
                          "error_message": NOT_UTF8}
                if rec is None:
                    self.repo.insert_file({"path": path, "size": 0, "mtime_ns": 0, **values})
                elif rec.status != FileStatus.ERROR or rec.error_message != NOT_UTF8:
                    self.repo.update_file(rec.id, **values)

    def _process_batch(self, batch: list[_Work], by_inode: dict, vanished_by_hash: dict[str, list[FileRecord]],
                       consumed: set[int], report: ScanReport) -> None:
        writes: list[tuple[str, _Work, Any]] = []  # (op, work, payload)
        to_embed: list[_Work] = []
        for w in batch:
            f = w.found
            if w.kind == "new":
                aliases = [by_inode[(f.dev, f.ino)]] if (f.dev, f.ino) in by_inode else \
                    self.repo.files_by_inode(f.dev, f.ino)
                alias = next((a for a in aliases if a.path != f.path and _same_inode(a.path, f.dev, f.ino)), None)
                if alias is not None:  # a hard link or path alias of a known file
                    report.skipped_aliases += 1
                    log.info("%s is the same file as %s; not counted twice", f.path, alias.path)
                    continue
            if w.kind == "embed":
                w.hash = w.record.hash
                to_embed.append(w)
                continue
            try:
                w.partial, w.hash = hash_file(f.path)
            except FileNotFoundError as e:
                writes.append(("error", w, (_failure_value("MISSING"), f"file vanished during the scan: {e}")))
                continue
            except OSError as e:
                writes.append(("error", w, (_failure_value("UNREADABLE"), f"cannot read file: {e}")))
                continue
            if w.kind == "new":
                movers = [r for r in vanished_by_hash.get(w.hash, ()) if r.id not in consumed]
                if movers:
                    consumed.add(movers[0].id)
                    w.record = movers[0]
                    writes.append(("moved", w, None))
                    if movers[0].status == FileStatus.OK and movers[0].id not in self._current:
                        to_embed.append(w)
                    continue
            if f.size == 0:
                writes.append(("error", w, (_failure_value("EMPTY"), "empty file (0 bytes)")))
                continue
            to_embed.append(w)

        # Reuse the embedding of a file with the same content instead of decoding it again; not
        # that of a record this batch rewrites (a changed file: two names swapped, say), whose
        # content is another by the time the copy is written
        results: dict[int, Any] = {}
        reuse: dict[int, int] = {}
        first_by_hash: dict[str, int] = {}
        need: list[_Work] = []
        rewritten = {w.record.id for w in batch if w.kind == "changed" and w.record is not None}
        for w in to_embed:
            src = self.repo.embedded_file_with_hash(w.hash, self.model, n_views=self._n_views) \
                if w.hash else None
            if src in rewritten and (w.record is None or src != w.record.id):
                src = None
            if src is not None:  # includes a touched file whose content did not change
                reuse[id(w)] = src
            elif w.hash in first_by_hash:
                pass  # same content later in this batch: copied after the first one is written
            else:
                if w.hash:
                    first_by_hash[w.hash] = id(w)
                need.append(w)
        if need:
            for w, res in zip(need, self.embedder.embed_paths([w.found.path for w in need])):
                results[id(w)] = res

        with self.repo.transaction():
            for op, w, payload in writes:
                if op == "error":
                    self._write_error(w, *payload, report)
                elif op == "moved":
                    self._write_moved(w, report)
            embedded_by_hash: dict[str, int] = {}
            for w in to_embed:
                if id(w) in results:
                    fid = self._write_result(w, results[id(w)], report)
                    if fid is not None and w.hash:
                        embedded_by_hash[w.hash] = fid
            for w in to_embed:
                if id(w) in results:
                    continue
                src = reuse.get(id(w)) or embedded_by_hash.get(w.hash)
                if src is None:
                    # The first file with this content failed to decode; record the same failure.
                    first = next((x for x in to_embed if id(x) in results and x.hash == w.hash), None)
                    res = results.get(id(first)) if first else None
                    if res is not None:
                        self._write_result(w, res, report)
                    continue
                self._write_copy(w, src, report)

    def _base_values(self, w: _Work) -> dict:
        f = w.found
        return {"path": f.path, "folder": os.path.dirname(f.path), "size": f.size, "mtime_ns": f.mtime_ns,
                "dev": f.dev, "ino": f.ino, "partial_hash": w.partial or (w.record.partial_hash if w.record else None),
                "hash": w.hash}

    def _upsert(self, w: _Work, values: dict) -> int:
        if w.record is None:
            fid = self.repo.insert_file(values)
            w.record = self.repo.file(fid)
            return fid
        self.repo.update_file(w.record.id, **values)
        return w.record.id

    def _count(self, w: _Work, report: ScanReport) -> None:
        if w.kind == "new":
            report.new += 1
        elif w.kind == "changed":
            report.changed += 1
            report.changed_paths.append(w.found.path)

    def _write_error(self, w: _Work, reason: str, message: str, report: ScanReport) -> None:
        values = {**self._base_values(w), "status": FileStatus.ERROR, "error_reason": reason,
                  "error_message": message}
        fid = self._upsert(w, values)
        self.repo.delete_embedding(fid, self.model)
        report.errors += 1
        report.removed_ids.add(fid)
        self._count(w, report)

    def _write_moved(self, w: _Work, report: ScanReport) -> None:
        rec = w.record
        values = {**self._base_values(w)}
        self.repo.update_file(rec.id, **values)
        report.moved += 1
        report.moves[rec.path] = w.found.path
        if rec.status == FileStatus.OK:
            report.updated_ids.add(rec.id)  # path changed; the vector did not

    def _info_values(self, info: Any) -> dict:
        if info is None:
            return {}
        return {"width": info.width, "height": info.height, "format": info.format,
                "orientation": getattr(info, "orientation", None), "captured": getattr(info, "captured", None),
                "camera": getattr(info, "camera", None), "exif_fields": getattr(info, "exif_fields", None),
                # "" = read, no capture signature; None is left for files never read for one
                "shot": getattr(info, "shot", None) or ""}

    def _write_result(self, w: _Work, res: Any, report: ScanReport) -> int | None:
        if getattr(res, "error", None) is not None or getattr(res, "descriptor", None) is None:
            err = res.error
            reason = getattr(getattr(err, "reason", None), "value", None) or _failure_value("CORRUPT")
            self._write_error(w, reason, str(err) if err else "no descriptor", report)
            return None
        values = {**self._base_values(w), **self._info_values(res.info), "status": FileStatus.OK,
                  "error_reason": None, "error_message": None}
        fid = self._upsert(w, values)
        self.repo.put_embedding(fid, self.model, np.asarray(res.descriptor), res.views)
        if self.tagger is not None:
            self.repo.replace_tags(fid, self.model, self.tagger(list(res.top_classes or [])))
        report.embedded += 1
        report.updated_ids.add(fid)
        self._count(w, report)
        return fid

    def _write_copy(self, w: _Work, src: int, report: ScanReport) -> None:
        src_rec = self.repo.file(src)
        meta = {}
        if src_rec is not None:
            meta = {k: getattr(src_rec, k) for k in ("width", "height", "format", "orientation", "captured", "camera",
                                                    "exif_fields", "shot")}
        values = {**self._base_values(w), **meta, "status": FileStatus.OK, "error_reason": None,
                  "error_message": None}
        fid = self._upsert(w, values)
        if fid != src:
            self.repo.copy_embedding(src, fid, self.model)
            self.repo.copy_tags(src, fid, self.model)
        report.updated_ids.add(fid)
        self._count(w, report)


def _same_inode(path: str, dev: int, ino: int) -> bool:
    try:
        st = os.stat(path)
    except OSError:
        return False
    return (st.st_dev, st.st_ino) == (dev, ino)
