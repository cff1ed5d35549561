"""Library: the one facade the CLI and the GUI worker use (store + scanner + index + grouping + actions).

Whitening: the store keeps raw descriptors; the index holds whitened ones. Until the library has
`WHITEN_REFIT_MIN` (2,000) photos for the model, the model card's shipped whitening is used
(identity when the card ships none); from then on the whitening is refitted on the user's own
photos after a scan that grew the library by a quarter since the last fit, saved in the store, and
the index is rebuilt from SQLite. That whitening serves search; grouping stays in the shipped space,
where its thresholds were calibrated.
"""

from __future__ import annotations

import gc
import io
import itertools
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from mgdesk import paths
from mgdesk.paths import is_under
from mgdesk.core import actions, tags as tagmod
from mgdesk.core.keepbest import Edits, MemberInfo
from mgdesk.core.scanner import EmbedderLike, ScanProgress, ScanReport, Scanner
from mgdesk.core.store import NOT_DUPLICATE, ActionRecord, FileRecord, FileStatus, Repository, ScanRecord, connect

log = logging.getLogger(__name__)

WHITEN_REFIT_MIN = 2000
WHITEN_REFIT_GROWTH = 1.25
FEATURE_CACHE_BYTES = 2 << 30  # local features kept for verification (~0.4 MB a photo)
LEVELS = ("exact", "copy", "similar")


def _one_entry(a: Path, b: Path) -> bool:
    """Whether two names of one file are one directory entry (reached through a symlinked folder,
    or spelled in another case on a case-insensitive disk), not two hard links."""
    try:
        if not os.path.samefile(a.parent, b.parent):
            return False
        if a.name == b.name:
            return True
        listed = os.listdir(a.parent)
    except OSError:
        return False
    return not (a.name in listed and b.name in listed)  # two names listed: two entries


def weights_missing(model: str) -> str | None:
    """Why the model's weights cannot be loaded here (and how to get them), or None when they can;
    read off its card without loading torch. An unknown model raises KeyError."""
    from mgdesk.core.embedding import load_card
    from mgdesk.core.embedding.weights import missing_weights
    card = load_card(model)
    return missing_weights(card.trunk, card.weights)


class LibraryError(Exception):
    """A request the library cannot do; str() is a one-line message for the user."""


@dataclass(frozen=True)
class MemberView:
    path: str
    score: float
    keep: bool
    reason: str
    size: int
    width: int | None
    height: int | None
    format: str | None
    captured: str | None
    camera: str | None
    file_id: int
    hash: str | None = None
    # when the file was last written (local time, ISO 8601): keep-best's "written first" reads it
    modified: str | None = None


@dataclass(frozen=True)
class GroupView:
    level: str
    members: tuple[MemberView, ...]
    reclaimable: int  # bytes freed by removing every member but the keeper

    @property
    def keeper(self) -> MemberView:
        return next(m for m in self.members if m.keep)

    def to_json(self) -> dict:
        return {"level": self.level, "reclaimable": self.reclaimable,
                "members": [{"path": m.path, "score": round(float(m.score), 4), "keep": m.keep,
                             "reason": m.reason, "size": m.size, "width": m.width, "height": m.height,
                             "format": m.format, "captured": m.captured, "camera": m.camera,
                             "modified": m.modified}
                            for m in self.members]}


def _local_time(seconds: float | None) -> str | None:
    return None if seconds is None else \
        datetime.fromtimestamp(seconds).isoformat(sep="T", timespec="seconds")


@dataclass(frozen=True)
class SearchHit:
    path: str
    score: float
    file_id: int | None = None


@dataclass(frozen=True)
class LibraryStatus:
    db_path: str
    model: str
    files: dict[str, int]
    models: dict[str, int]
    indexed: int
    whitening: str
    last_scan: ScanRecord | None
    roots: tuple[str, ...] = field(default_factory=tuple)
    not_duplicates: int = 0  # pairs of contents the user marked as not duplicates
    undo: ActionRecord | None = None  # what `undo` would take back

    def to_json(self) -> dict:
        scan, undo = self.last_scan, self.undo
        return {"db": self.db_path, "model": self.model, "files": self.files, "models": self.models,
                "indexed": self.indexed, "whitening": self.whitening, "roots": list(self.roots),
                "not_duplicates": self.not_duplicates,
                "undo": None if undo is None else {"kind": undo.kind, "created": undo.created,
                                                   "paths": [i.original_path for i in undo.undoable_items]},
                "last_scan": None if scan is None else {
                    "roots": list(scan.roots), "model": scan.model, "started": scan.started,
                    "finished": scan.finished, "cancelled": scan.cancelled, "counts": scan.counts}}


def _roots_holding(roots: Sequence[str], paths: Sequence[str]) -> list[str]:
    """The roots under which any of `paths` really lies, symlinks resolved (a folder once per path)."""
    real_roots = {r: os.path.realpath(r) for r in roots}
    real_folders: dict[str, str] = {}
    holding = set()
    for p in paths:
        folder = os.path.dirname(p)
        if folder not in real_folders:
            real_folders[folder] = os.path.realpath(folder)
        real = os.path.join(real_folders[folder], os.path.basename(p))
        holding.update(r for r, rr in real_roots.items() if is_under(real, rr))
    return sorted(holding)


class _VerdictCacheAdapter:
    """grouping.VerdictCache on the store's verdict table (key = 'version:hash_lo:hash_hi')."""

    def __init__(self, repo: Repository):
        self.repo = repo

    def get(self, key: str):
        from mgdesk.core.verify import Verdict
        version, a, b = key.rsplit(":", 2)
        data = self.repo.get_verdict(a, b, version)
        return None if data is None else Verdict(**data)

    def put(self, key: str, verdict) -> None:
        from dataclasses import asdict
        version, a, b = key.rsplit(":", 2)
        with self.repo.transaction():
            self.repo.put_verdict(a, b, version, asdict(verdict))


def _whitening_to_bytes(w) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, mean=w.mean, projection=w.projection, shrinkage=np.float32(w.shrinkage),
             n_fit=np.int64(w.n_fit))
    return buf.getvalue()


def _in_space(whitening, x: np.ndarray) -> np.ndarray:
    """Descriptors whitened by `whitening` (None: only L2-normalised), as float32 rows."""
    from mgdesk.core.embedding import l2n
    x = np.asarray(x, np.float32)
    if whitening is None:
        return l2n(np.atleast_2d(x)).astype(np.float32)
    return whitening.apply(x).astype(np.float32)


def _whitening_from_bytes(blob: bytes):
    from mgdesk.core.embedding import Whitening
    with np.load(io.BytesIO(blob), allow_pickle=False) as d:
        return Whitening(d["mean"].astype(np.float32), d["projection"].astype(np.float32),
                         float(d["shrinkage"]), int(d["n_fit"]))


@contextmanager
def long_lived() -> Iterator[None]:
    """Around loading what lives as long as the process (torch, the network: ~440,000 objects):
    the garbage collector does not run meanwhile, and what was made is then kept out of its full
    passes. Each pass walks every tracked object holding the GIL, 150-490 ms in which no other
    thread runs Python: a frozen window in the app. What these objects later drop is still freed
    by reference counting; only cyclic garbage made during the load is never collected."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


class _EmbedderOnDemand:
    """The scan's embedder, loaded when a photo first needs embedding: a rescan with nothing new
    never loads the network (seconds on a laptop, more than the rescan itself)."""

    def __init__(self, library: Library) -> None:
        self._library = library
        self._card_angles: tuple[int, ...] | None = None

    @property
    def model_name(self) -> str:
        return self._library.model

    @property
    def view_angles(self) -> tuple[int, ...]:
        loaded = self._library._embedder
        if loaded is not None:
            return tuple(getattr(loaded, "view_angles", ()) or ())
        if self._card_angles is None:  # what the Embedder will take from its card (asked per file)
            from mgdesk.core.embedding import load_card
            self._card_angles = tuple((load_card(self._library.model).extra or {}).get("view_angles", ()))
        return self._card_angles

    def embed_paths(self, paths: Sequence[str], progress: Any = None, cancel: Any = None):
        return self._library.embedder.embed_paths(paths, progress, cancel)


class Library:
    """Opens the database, keeps the FAISS index of the current model in step with it.

    Create it in the thread that will use it (the GUI's worker, or the CLI's main thread).
    `embedder` may be injected (to share one loaded network between libraries, as the tests and
    the GUI do); by default the real Embedder for `model` is created on first need, so commands
    that only read (dupes, tags, status) start fast.
    """

    def __init__(self, db_path: Path | str | None = None, model: str = "lite0", device: str | None = None, *,
                 embedder: EmbedderLike | None = None, tagger: Callable | None = None,
                 include: Sequence[str] = (), exclude: Sequence[str] = (), batch_size: int = 32,
                 keep_rules: Any = None):
        from mgdesk.core.keepbest import KeepRules
        self.keep_rules = keep_rules or KeepRules()  # the user's keep-best order (settings), else the default
        self.db_path = Path(db_path) if db_path is not None else paths.default_db_path()
        self.repo = Repository(connect(self.db_path))
        self.model = embedder.model_name if embedder is not None else model
        self.device = device
        self._embedder = embedder
        self._tagger = tagger
        self.include, self.exclude, self.batch_size = tuple(include), tuple(exclude), batch_size
        self._session_groups: dict[str, list[list[str]]] = {}
        self._features = None
        self.whitening = None  # the search space: fitted on the library once it is large enough
        self.shipped_whitening = None  # the grouping space: the model card's (None: identity)
        self.whitening_source = "identity"
        self.index = None
        actions.reconcile(self.repo)
        self._load_whitening()
        self.rebuild_index()

    def close(self) -> None:
        self.repo.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- model, whitening, index ---------------------------------------------------------
    @property
    def embedder(self) -> EmbedderLike:
        if self._embedder is None:
            with long_lived():
                from mgdesk.core.embedding import Embedder
                self._embedder = Embedder(self.model, self.device)
        return self._embedder

    def _tag(self, top_classes):
        if self._tagger is not None:
            return self._tagger(top_classes)
        return tagmod.photo_tags(top_classes)

    def _load_whitening(self) -> None:
        self.shipped_whitening, shipped_source = None, "identity"
        try:
            from mgdesk.core.embedding import Whitening, load_card
            card = load_card(self.model)
            if card.whitening:
                self.shipped_whitening = Whitening.load(paths.MODEL_CARDS / card.whitening)
                shipped_source = f"shipped ({card.whitening})"
        except (KeyError, OSError) as e:  # a model without a card ships no whitening
            log.debug("no shipped whitening for %s: %s", self.model, e)
        stored = self.repo.whitening(self.model)
        if stored is not None:
            self.whitening = _whitening_from_bytes(stored[1])
            self.whitening_source = f"fitted on {stored[0]} library photos"
        else:
            self.whitening, self.whitening_source = self.shipped_whitening, shipped_source

    def _whiten(self, x: np.ndarray) -> np.ndarray:
        """Descriptors in the search space (the library's whitening)."""
        return _in_space(self.whitening, x)

    def _grouping_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, descriptors) in the space the grouping thresholds were calibrated in: the shipped one.

        A whitening refitted on the library ranks search results better, but it rescales every
        cosine (on nd-dev + nd-scenes + photos, refitted, the copy level's recall fell from 0.98
        to 0.34 at the same thresholds), so grouping keeps to the shipped space."""
        if self.whitening is self.shipped_whitening:
            return self.index.vectors()  # the index already holds them in that space
        return self._vectors(self.shipped_whitening)

    def _vectors(self, whitening) -> tuple[np.ndarray, np.ndarray]:
        """(ids, descriptors) from SQLite, whitened by `whitening` (None: L2-normalised only)."""
        ids, raw = self.repo.descriptors(self.model)
        return ids, (_in_space(whitening, raw) if len(ids) else raw)

    def rebuild_index(self) -> None:
        """Rebuild the FAISS index of the current model from SQLite (whitened descriptors)."""
        from mgdesk.core.index import VectorIndex
        ids, vecs = self._vectors(self.whitening)
        self.index = VectorIndex.build(ids, vecs) if len(ids) else None
        log.info("index for %s: %d vectors", self.model, len(ids))

    def _sync_index(self, updated: Iterable[int], removed: Iterable[int]) -> None:
        from mgdesk.core.index import VectorIndex
        updated = set(updated)
        removed = [i for i in set(removed) if i not in updated]
        if self.index is not None and removed:
            self.index.remove(np.asarray(removed, np.int64))
        upd = []
        for fid in updated:
            rec = self.repo.file(fid)
            emb = self.repo.embedding(fid, self.model)
            if rec is not None and rec.status == FileStatus.OK and emb is not None:
                upd.append((fid, emb.descriptor))
        if upd:
            ids = np.asarray([u[0] for u in upd], np.int64)
            vecs = self._whiten(np.stack([u[1] for u in upd]))
            if self.index is None:
                self.index = VectorIndex(vecs.shape[1])
            self.index.add(ids, vecs)

    def maybe_refit_whitening(self, force: bool = False) -> bool:
        """Refit whitening on the library's own descriptors once it is large enough; rebuild the index."""
        from mgdesk.core.embedding import Whitening
        ids, raw = self.repo.descriptors(self.model)
        stored = self.repo.whitening(self.model)
        enough = len(ids) >= WHITEN_REFIT_MIN and (stored is None or len(ids) >= WHITEN_REFIT_GROWTH * stored[0])
        if not (enough or (force and len(ids) >= 2)):
            return False
        w = Whitening.fit(raw)
        with self.repo.transaction():
            self.repo.put_whitening(self.model, len(ids), _whitening_to_bytes(w))
        self._load_whitening()
        self.rebuild_index()
        return True

    # ---- scanning ------------------------------------------------------------------------
    def scan(self, roots: Sequence[str | Path], progress: Callable[[ScanProgress], None] | None = None,
             cancel: threading.Event | None = None) -> ScanReport:
        """Bring the library up to date with the folders (incremental; resumable; see scanner)."""
        for r in roots:
            p = Path(r)
            if not p.exists():
                raise LibraryError(f"no such folder: {p}")
            if not os.access(p, os.R_OK):
                raise LibraryError(f"cannot read: {p}")
        if self._embedder is None and (missing := weights_missing(self.model)) is not None:
            raise LibraryError(missing)  # before anything is written
        scanner = Scanner(self.repo, _EmbedderOnDemand(self), tagger=self._tag, include=self.include,
                          exclude=self.exclude, batch_size=self.batch_size)
        try:
            report = scanner.scan(roots, progress=progress, cancel=cancel)
        except BaseException:  # Ctrl+C or a failure: the batches written are kept, the scan is on
            if scanner.scan_id is not None:  # record as cancelled
                with self.repo.transaction():
                    self.repo.cancel_scan(scanner.scan_id)
            raise
        self._sync_index(report.updated_ids, report.removed_ids)
        self._session_groups.clear()
        if not report.cancelled:
            self.maybe_refit_whitening()
        return report

    # ---- groups --------------------------------------------------------------------------
    def groups(self, level: str = "copy", threshold: float | None = None, *, progress=None,
               cancel: threading.Event | None = None) -> list[GroupView]:
        """Duplicate groups with the keeper chosen by keep-best rules.

        'exact' = same bytes (content hash); 'copy' = the same photo after edits (verified);
        'similar' = shots of the same scene. `threshold` overrides the level's cosine.
        """
        if level not in LEVELS:
            raise LibraryError(f"unknown level {level!r}; choose one of {', '.join(LEVELS)}")
        if level == "exact":
            raw = [[(f, 1.0, 1.0, None) for f in g] for g in self.repo.exact_groups()]
        else:
            raw = self._similarity_groups(level, threshold, progress, cancel)
        views = [self._group_view(level, members) for members in raw]
        views = [v for v in views if len(v.members) >= 2]
        views.sort(key=lambda v: (-v.reclaimable, v.members[0].path))
        self._session_groups[level] = [[m.path for m in v.members] for v in views]
        return views

    def _similarity_groups(self, level, threshold, progress, cancel
                           ) -> list[list[tuple[FileRecord, float, float, Edits | None]]]:
        """Groups as (file, score, share of its canvas showing the photo, its Edits) per member."""
        from mgdesk.core.grouping import GroupingConfig, find_groups
        if self.index is None:
            return []
        ids, vecs = self._grouping_vectors()
        if len(ids) < 2:
            return []
        files = self.repo.files_by_ids(ids.tolist())
        config = GroupingConfig()
        if threshold is not None:
            if not -1.0 <= threshold <= 1.0:
                raise LibraryError("threshold must be a cosine between -1 and 1")
            config = GroupingConfig(**{**config.__dict__, ("similar_cosine" if level == "similar"
                                                           else "copy_candidate_cosine"): float(threshold)})
        views = {fid: _in_space(self.shipped_whitening, v).astype(np.float16)  # as grouping keeps them
                 for fid, v in self.repo.views(ids.tolist(), self.model)}
        keys = {fid: f.hash for fid, f in files.items() if f.hash}
        by_hash: dict[str, list[int]] = {}
        for fid, h in keys.items():
            by_hash.setdefault(h, []).append(fid)
        not_dup = set()
        for pair in self.repo.not_duplicate_pairs():
            a, b = tuple(pair)
            for x, y in itertools.product(by_hash.get(a, ()), by_hash.get(b, ())):
                not_dup.add(frozenset((x, y)))
        groups = find_groups(ids, vecs, level, views=views, image_paths={i: f.path for i, f in files.items()},
                             photo_keys=keys, config=config, not_duplicate=not_dup,
                             verdict_cache=_VerdictCacheAdapter(self.repo), progress=progress, cancel=cancel,
                             feature_store=self._feature_store(),
                             shots={i: f.shot for i, f in files.items() if f.shot})
        return [[(files[m], float(g.scores.get(m, 1.0)), float(g.photo.get(m, 1.0)), g.edits.get(m))
                 for m in g.members] for g in groups]

    def _feature_store(self):
        """Local features of photos kept across runs (by content hash), so a rescan and regroup
        does not recompute them; bounded by FEATURE_CACHE_BYTES, oldest dropped first."""
        from mgdesk.core.grouping import FeatureStore
        if self._features is None:
            self._features = FeatureStore(paths.cache_dir() / "features", FEATURE_CACHE_BYTES)
        return self._features

    def _group_view(self, level: str, members: list[tuple[FileRecord, float, float, Edits | None]]
                    ) -> GroupView:
        from mgdesk.core.keepbest import choose_keeper
        # a file deleted, replaced or edited since the last scan is no member to keep or remove:
        # what it holds now is not what was grouped (the next scan reads it again)
        members = [m for m in members if m[0].status in (FileStatus.OK, FileStatus.ERROR)
                   and m[0].as_scanned()]
        if not members:
            return GroupView(level, (), 0)
        modified = [f.mtime_ns / 1e9 if f.mtime_ns else None for f, *_ in members]
        resaves = self._lossless_resaves([m[0] for m in members], modified) if level != "exact" else {}
        sharpness = self._burst_sharpness([m[0] for m in members]) if level == "similar" else {}
        infos = [MemberInfo(f.path, f.width or 0, f.height or 0, f.size, f.format, f.captured,
                            f.exif_fields or 0, photo, edited,
                            resave_of=members[resaves[i]][0].path if i in resaves else None,
                            modified=modified[i], sharpness=sharpness.get(i),
                            link_to=os.path.realpath(f.path) if os.path.islink(f.path) else None)
                 for i, (f, _, photo, edited) in enumerate(members)]
        if level == "copy":  # one photo in every member: a bigger one may only be enlarged
            enlarged = self._enlargements([m[0] for m in members], infos)
            grey = self._grey_copies([m[0] for m in members], [info.framed for info in infos])
            infos = [replace(info, enlarged_from=infos[enlarged[i]].path if i in enlarged else None,
                             grey_of=infos[grey[i]].path if i in grey else None)
                     for i, info in enumerate(infos)]
        keep, reason = choose_keeper(infos, self.keep_rules)
        out = []
        for i, (f, score, _, _) in enumerate(members):
            # a similar group holds other shots (with their copies): "duplicate" is the copy level's word
            kept = Path(members[keep][0].path).name
            why = reason if i == keep else (f"similar to {kept}" if level == "similar" else f"duplicate of {kept}")
            if i != keep and infos[i].link_to is not None:  # trash refuses links: say what it is
                why = f"link to {infos[i].link_to} (mgdesk moves files, not links)"
            elif i != keep and f.hash and f.hash == members[keep][0].hash:
                why = f"exact copy of {kept}"  # the same bytes: not merely similar, nor edited
            elif i != keep and infos[i].resave_of is not None:
                why = f"lossless re-save of {Path(infos[i].resave_of).name}"
            elif i != keep and infos[i].enlarged_from is not None:
                why = f"enlarged from {Path(infos[i].enlarged_from).name}"
            elif i != keep and infos[i].grey_of is not None:
                why = f"grey copy of {Path(infos[i].grey_of).name}"
            out.append(MemberView(f.path, score, i == keep, why, f.size, f.width, f.height, f.format, f.captured,
                                  f.camera, f.id, f.hash, _local_time(modified[i])))
        # removing a link frees nothing (and trash leaves links alone)
        reclaimable = sum(m.size for m, info in zip(out, infos) if not m.keep and info.link_to is None)
        return GroupView(level, tuple(out), reclaimable)

    def _burst_sharpness(self, files: list[FileRecord]) -> dict[int, float]:
        """{member index: focus measure} when the group is one burst (shots.one_burst), else {}.
        Each answer is kept in the database by content hash."""
        from mgdesk.core.shots import Shot, different_captures, one_burst
        from mgdesk.core.sharpness import FOCUS_VERSION, focus_measure
        shots = [Shot.parse(f.shot) for f in files]
        if not one_burst([s.taken for s in shots], [f.camera for f in files],
                         [(f.width or 0, f.height or 0) for f in files]):
            return {}
        # every member its own frame: an edit keeps its photo's capture fields, and a sharpened
        # copy would otherwise pass for the sharpest frame
        if any(different_captures(a, b) is None for a, b in itertools.combinations(shots, 2)):
            return {}
        out: dict[int, float] = {}
        for i, f in enumerate(files):
            focus = self._remembered(f.hash, f.hash, FOCUS_VERSION, lambda: focus_measure(f.path))
            if focus is None:  # unreadable now, or flat: the frames cannot all be compared
                return {}
            out[i] = float(focus)
        return out

    def _remembered(self, hash_a: str | None, hash_b: str | None, version: str,
                    measure: Callable[[], Any]) -> Any:
        """A measurement of one or two contents, kept in the verdict table by content hashes
        (so no later session decodes the files for it again); None answers (unreadable for now)
        are not kept, and without both hashes nothing is."""
        if hash_a and hash_b:
            known = self.repo.get_verdict(hash_a, hash_b, version)
            if known is not None:
                return known
        answer = measure()
        if answer is not None and hash_a and hash_b:
            with self.repo.transaction():
                self.repo.put_verdict(hash_a, hash_b, version, answer)
        return answer

    def _enlargements(self, files: list[FileRecord], infos: list[MemberInfo]) -> dict[int, int]:
        """enlarged.enlargements over a copy group, each answer kept in the database by the two
        content hashes. Re-saves are not tested (they already hold nothing their source lacks);
        framed members only by prediction from the smaller one (a frame's edges are detail)."""
        from mgdesk.core.enlarged import (DETAIL_VERSION, PREDICTED_VERSION, detail_beyond, enlargements,
                                          unpredicted_detail)
        pixels = [0.0 if info.resave_of else info.photo_pixels for info in infos]

        def detail(i: int, j: int, ratio: float) -> float | None:
            return self._remembered(files[i].hash, files[j].hash, DETAIL_VERSION,
                                    lambda: detail_beyond(files[i].path, ratio))

        def predicted(i: int, j: int) -> float | None:
            return self._remembered(files[i].hash, files[j].hash, PREDICTED_VERSION,
                                    lambda: unpredicted_detail(files[i].path, files[j].path))
        return enlargements([f.path for f in files], pixels, [info.modified for info in infos], detail,
                            [info.exif_fields for info in infos], [info.framed for info in infos], predicted)

    def _grey_copies(self, files: list[FileRecord], framed: list[bool]) -> dict[int, int]:
        """colour.grey_copies over a copy group, each member's measure kept by its content hash.
        A framed member is not compared: the frame (a screenshot's window) has its own colours."""
        from mgdesk.core.colour import COLOUR_VERSION, colour_spread, grey_copies_of

        def spread(i: int) -> Sequence[float] | None:
            if framed[i]:
                return None
            return self._remembered(files[i].hash, files[i].hash, COLOUR_VERSION,
                                    lambda: colour_spread(files[i].path))
        return grey_copies_of([f.path for f in files], [f.exif_fields or 0 for f in files], spread)

    def _lossless_resaves(self, files: list[FileRecord], modified: list[float | None]) -> dict[int, int]:
        """resave.lossless_resaves over a group, each pair's answer kept in the database (by
        content hashes), so listing the groups again decodes nothing."""
        from mgdesk.core.resave import RESAVE_VERSION, lossless_resaves, same_pixels
        by_path = {f.path: f for f in files}

        def same(a: str, b: str) -> bool | None:
            answer = self._remembered(by_path[a].hash, by_path[b].hash, RESAVE_VERSION,
                                      lambda: same_pixels(a, b))
            return None if answer is None else bool(answer)
        return lossless_resaves([f.path for f in files], [(f.width or 0, f.height or 0) for f in files],
                                [f.format for f in files], modified, same)

    # ---- search --------------------------------------------------------------------------
    def search(self, image: str | Path, k: int = 20) -> list[SearchHit]:
        """Photos most like `image`: a library photo (its stored descriptor) or any image file."""
        path = Path(os.path.abspath(os.fspath(image)))
        if k < 1:
            raise LibraryError("k must be at least 1")
        if not path.is_file():
            raise LibraryError(f"no such file: {path}")
        rec = self.repo.file_by_path(str(path))
        emb = self.repo.embedding(rec.id, self.model) if rec is not None else None
        if emb is None:
            res = next(iter(self.embedder.embed_paths([str(path)])))
            if res.error is not None or res.descriptor is None:
                raise LibraryError(str(res.error) if res.error else f"could not read {path}")
            descriptor = res.descriptor
        else:
            descriptor = emb.descriptor
        if self.index is None or len(self.index) == 0:
            return []
        self_id = rec.id if rec is not None else None
        scores, ids = self.index.search(self._whiten(descriptor), k + (1 if self_id is not None else 0))
        hits_ids = [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0 and i != self_id][:k]
        files = self.repo.files_by_ids([i for i, _ in hits_ids])
        return [SearchHit(files[i].path, s, i) for i, s in hits_ids if i in files]

    # ---- tags ----------------------------------------------------------------------------
    def tags(self) -> list[tuple[str, int]]:
        """(label, number of photos) over the library, most common first."""
        return self.repo.tag_counts(self.model)

    def photos_with_tag(self, label: str) -> list[tuple[str, float]]:
        return [(f.path, s) for f, s in self.repo.files_with_tag(self.model, label)]

    def album_tags(self, folder: str | Path) -> list[tuple[str, float]]:
        """Labels of one folder's photos (not its subfolders), see tags.album_tags."""
        n, rows = self.repo.tags_in_folder(self.model, os.path.abspath(os.fspath(folder)))
        return tagmod.album_tags(n, rows)

    # ---- actions -------------------------------------------------------------------------
    def _protected_groups(self, extra: Iterable[Iterable[str]] = ()) -> list[list[str]]:
        groups = [[f.path for f in g] for g in self.repo.exact_groups()]
        for level_groups in self._session_groups.values():
            groups.extend(level_groups)
        groups.extend([list(map(str, g)) for g in extra])
        return groups

    def trash(self, paths_: Sequence[str | Path], destination: str | Path | None = None, *,
              groups: Iterable[Iterable[str]] = (), check_levels: Sequence[str] = (),
              check_only: bool = False) -> ActionRecord | None:
        """Move files to the OS trash (or `destination`), journaled and undoable.

        Refuses to remove every member of a group: exact copies (always checked), the groups
        computed by this Library since the last scan, groups at `check_levels` (computed now if
        not yet; the CLI asks for 'copy') and any `groups` the caller passes. `check_only`: only
        raise what would be refused (so a confirmation is asked only for what can be done).
        """
        try:
            files = [self._library_path(f) for f in actions.distinct_files(paths_)]  # checked before any grouping
            for level in check_levels:
                if level not in self._session_groups:
                    self.groups(level)
            protected = self._protected_groups(groups)
            self._refuse_last_copies(files)
            if check_only:
                actions.check_removal(self.repo, files, protected)
                return None
            action = actions.remove_files(self.repo, files, destination, groups=protected)
        except actions.ActionError as e:
            raise LibraryError(str(e)) from e
        self._remember_kept(action, protected)
        ids = [r.id for r in (self.repo.file_by_path(i.original_path) for i in action.done_items) if r]
        self._sync_index([], ids)
        return action

    def _library_path(self, f: Path) -> Path:
        """The path the library knows `f` by: the same, or, for another name of the same file (a
        symlinked folder, another spelling), the record's, so the group checks see the member.
        A file the library has not scanned is refused: a typo or a stray path is never trashed."""
        if self.repo.file_by_path(str(f)) is not None:
            return f
        st = os.stat(f)
        known = [r for r in self.repo.files_by_inode(st.st_dev, st.st_ino) if os.path.exists(r.path)]
        if not known:
            raise LibraryError(f"not in the library: {f} (mgdesk only removes photos it has scanned)")
        # one directory entry reached another way, or a second entry (a hard link): moving the
        # record's path would remove a name other than the one the user gave
        alias = next((r for r in known if _one_entry(f, Path(r.path))), None)
        if alias is None:
            raise LibraryError(f"{f} is a hard link to {known[0].path} (one file, two names): removing "
                               "this name frees no space and the photo stays; mgdesk leaves it to you")
        return Path(alias.path)

    # A group's last member is protected across sessions too: removing copies journals, for each
    # removed file, the group members that stayed ("kept" decisions by content, with the removed
    # path and the action), and a later action may not remove the last of them while the
    # removal stands (undo lifts it).
    def _remember_kept(self, action: ActionRecord, groups: list[list[str]]) -> None:
        gone = {i.original_path for i in action.done_items}
        with self.repo.transaction():
            for item in action.done_items:
                for group in groups:
                    if item.original_path not in group:
                        continue
                    for member in group:
                        rec = self.repo.file_by_path(member) if member not in gone else None
                        if rec is not None and rec.hash:
                            self.repo.add_decision(rec.hash, "kept", item.original_path, action.id)

    def _refuse_last_copies(self, files: Sequence[Path]) -> None:
        """The cross-session half of "never remove a whole group": a file kept when a copy of it
        was removed earlier may go only while another kept member stays; when that copy had the
        same bytes, only another file with those bytes will do (as when both go at once: an exact
        group is never emptied, whatever edited copies remain)."""
        going = {str(f) for f in files}

        def removed(action_id: int | None, path: str):  # that removal's item, while it stands
            action = self.repo.action(action_id) if action_id is not None else None
            return next((i for i in action.items if i.original_path == path and i.done and not i.undone),
                        None) if action is not None else None

        def stays(content: str) -> bool:  # a file with that content is still there, as scanned
            return any(f.path not in going and f.status == FileStatus.OK and f.as_scanned()
                       for f in self.repo.files_by_hash(content))

        for f in files:
            rec = self.repo.file_by_path(str(f))
            if rec is None or not rec.hash:
                continue
            for d in self.repo.decisions(rec.hash):
                item = removed(d["action_id"], d["path"]) if d["decision"] == "kept" else None
                if item is None:
                    continue
                kept = [rec.hash] if item.hash == rec.hash else self.repo.deciders("kept", d["path"], d["action_id"])
                if not any(stays(h) for h in kept):
                    raise LibraryError(
                        f"refusing to remove {f.name}: it is the last copy of a photo whose other copy "
                        f"{os.path.basename(d['path'])} was removed earlier ({self._how_back(d['action_id'], item)})")

    def _how_back(self, action_id: int, item: Any) -> str:
        """How the user gets a removed copy back: undo, when that removal is the last action;
        else from where it went (its folder, or the system trash, which may have been emptied)."""
        last = self.repo.last_undoable_action()
        if last is not None and last.id == action_id:
            return "'mgdesk undo' or Ctrl+Z in the app puts it back"
        action = self.repo.action(action_id)
        when = datetime.fromtimestamp(action.created).strftime("%Y-%m-%d %H:%M")
        where = "the trash" if action.kind == "trash" else (item.destination_path or action.destination)
        return f"on {when}, to {where}; put it back from there to remove this one"

    def undo(self) -> ActionRecord | None:
        """Undo the last action (see actions.undo_last). Files put back into a folder that is no
        longer watched stay out of groups, search and tags, as the rest of that folder."""
        try:
            action = actions.undo_last(self.repo)
        except actions.ActionError as e:
            raise LibraryError(str(e)) from e
        if action is None or action.kind == NOT_DUPLICATE:
            return action
        roots = [r.path for r in self.repo.roots()]
        restored, unwatched = [], []
        for item in action.items:
            if item.original_path in action.undone_now:
                rec = self.repo.file_by_path(item.restored_path or item.original_path)
                if rec is None:
                    continue
                (restored if any(is_under(rec.path, r) for r in roots) else unwatched).append(rec.id)
        if unwatched:
            with self.repo.transaction():
                self.repo.set_status(unwatched, FileStatus.MISSING)
        self._sync_index(restored, [])
        return action

    def keep_all(self, group: GroupView | Iterable[str | Path]) -> ActionRecord:
        """'These are not duplicates': remembered for every pair (by content, survives moves) and
        journaled as an action, so undo takes it back like a trash."""
        paths_ = [m.path for m in group.members] if isinstance(group, GroupView) else [str(p) for p in group]
        records = []
        for p in paths_:
            rec = self.repo.file_by_path(os.path.abspath(p))
            if rec is None or not rec.hash or rec.status != FileStatus.OK:
                raise LibraryError(f"not in the library: {p}")
            records.append(rec)
        contents = sorted({r.hash for r in records})
        if len(contents) < 2:
            raise LibraryError("these are the same photo, byte for byte: they cannot be marked as not duplicates")
        with self.repo.transaction():
            action_id = self.repo.create_action(NOT_DUPLICATE, None, [(r.path, r.hash, r.size) for r in records])
            added = [self.repo.add_not_duplicate(a, b, action_id) for a, b in itertools.combinations(contents, 2)]
            if not any(added):  # raising rolls the action back: there would be nothing to undo
                raise LibraryError("these photos are already marked as not duplicates of each other")
            self.repo.mark_action_items(action_id, done=1)
            self.repo.set_action_state(action_id, "done")
        for level, gs in self._session_groups.items():
            self._session_groups[level] = [g for g in gs if set(g) != set(paths_)]
        return self.repo.action(action_id)

    # ---- roots ---------------------------------------------------------------------------
    def roots(self) -> list:
        """Watched folders (RootRecord: path, paused, added)."""
        return self.repo.roots()

    def add_root(self, path: str | Path) -> None:
        p = Path(os.path.abspath(os.fspath(path)))
        if not p.is_dir():
            raise LibraryError(f"no such folder: {p}")
        with self.repo.transaction():
            self.repo.add_root(str(p))

    def remove_root(self, path: str | Path) -> list[str]:
        """Stop watching a folder: its photos leave groups, search and tags (marked missing; no file
        is touched), except those under another watched folder. Adding it again brings them back
        without reading them (see scanner: a file found unchanged at its path).

        Returns the watched folders that hold some of those photos under another name (one folder
        reached through a symlink in another): scanning them keeps those photos in the library."""
        root = os.path.abspath(os.fspath(path))
        with self.repo.transaction():
            self.repo.remove_root(root)
            others = [r.path for r in self.repo.roots()]
            still = {f.id for f in self.repo.files_under(others)}
            under = self.repo.files_under([root])
            leaving = [f for f in under if f.id not in still and f.status != FileStatus.MISSING]
            self.repo.set_status([f.id for f in leaving], FileStatus.MISSING)
        self._sync_index([], [f.id for f in leaving])
        self._session_groups.clear()
        return _roots_holding(others, [f.path for f in leaving])

    def set_root_paused(self, path: str | Path, paused: bool) -> None:
        with self.repo.transaction():
            self.repo.set_root_paused(os.path.abspath(os.fspath(path)), paused)

    # ---- status --------------------------------------------------------------------------
    def status(self) -> LibraryStatus:
        return LibraryStatus(str(self.db_path), self.model, self.repo.status_counts(), self.repo.models(),
                             0 if self.index is None else len(self.index), self.whitening_source,
                             self.repo.last_scan(), tuple(r.path for r in self.repo.roots()),
                             self.repo.not_duplicate_count(), self.repo.last_undoable_action())

    def errors(self) -> list[FileRecord]:
        """Files that could not be read, with the reason and message."""
        return self.repo.files(FileStatus.ERROR)


__all__ = ["LEVELS", "GroupView", "Library", "LibraryError", "LibraryStatus", "MemberView", "SearchHit",
           "ScanReport", "ScanProgress", "WHITEN_REFIT_MIN", "long_lived", "weights_missing"]
