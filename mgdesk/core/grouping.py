"""Duplicate groups: k-NN candidates from the index, verified pairs, complete-link groups that never chain.

Work per photo is bounded by ``k`` neighbours (plus its rotated/mirrored views as extra queries,
so a photo rotated by 90° finds its original). A pair is *linked* at a level when:

- ``copy``: its cosine is at least ``copy_candidate_cosine`` and the :class:`PairVerifier` says
  the two are one capture (local features, one global transform, aligned agreement);
- ``similar``: the copy groups (and single photos) are captures; two scene units merge when the
  mean score of their capture pairs (mean cosine; 1 when the captures' representatives share a
  rigid scene or any two of their photos are verified copies) reaches ``similar_cosine`` —
  lowered towards ``similar_scene_cosine`` by the share of capture pairs that geometry backs —
  and every photo pair reaches ``similar_pair_floor``; so every copy group sits inside one
  similar group. The similar level looks ``similar_k`` neighbours deep and verifies geometry on
  demand, only for merges that hang on it.

Copy groups are built by greedy complete-link clustering over the candidate edges (best first):
two groups merge only when *every* cross pair is linked (missing pairs are checked on demand) and
none is marked "not a duplicate". So A~B and B~C never put A with C unless A~C holds too — plain
connected components would chain unrelated photos into mega-groups; the similar level's floor
on every cross pair does the same for it.
"""

from __future__ import annotations

import heapq
import logging
import os
import threading
from collections import OrderedDict
from contextlib import contextmanager
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Mapping, Protocol, Sequence

import numpy as np

from mgdesk.core.index import NeighbourSearch
from mgdesk.core.keepbest import Edits
from mgdesk.core.shots import Shot, different_captures
from mgdesk.core.verify import (FEATURE_VERSION, IN_PLACE, OVERLAY_GAP, VERIFIER_VERSION, LocalFeatures,
                                 PairVerifier, Verdict, map_scale, pixel_map)

log = logging.getLogger(__name__)

#: Complete-link tolerates this many failed cross pairs in a merge when each is two framed copies
#: of a photo in the group (_hold_one_photo); more failures than that are more than frames.
_MAX_FRAME_QUARRELS = 2
#: "covers all of it": share of a photo's canvas inside the other image (resampling eats edges)
_WHOLE = 0.98
#: common copies asked to explain a pair's differences (PairVerifier.edits_explain), closest
#: first: bounds the work in a large group (every edit of a photo in one library, in
#: bench/unseen_edits.py: 3 find 2 % fewer pairs than 8; 8 find all that any number does)
_MAX_WITNESSES = 8
#: a copy explains two others' differences only in a frame at least about as fine as theirs:
#: at most this many of their working pixels to one of its own (a thumbnail hides motion)
_FINER = 1.25
#: a copy whose working image is coarser than the crops it is asked to explain is looked at
#: closer, from its file, up to this many times its working side (and what the file holds)
_CLOSER = 4.0
#: threads that extract local features ahead of the copy pass (at most; one per core)
_EXTRACT_WORKERS = 8
#: threads that verify pairs ahead of the copy pass and the similar level's first merges (at
#: most; one per core)
_VERIFY_WORKERS = 8
#: how far the verifying threads may run ahead of the pass: this many candidate pairs per thread
_AHEAD_PER_WORKER = 4
#: fewer photos to extract than this are left to the copy pass itself (no pool to start)
_PREFETCH_MIN = 8
#: a photo's stored features, about (640 px luminance as PNG, 1,000 SIFT): the extraction ahead
#: fills at most half the feature store, so none is evicted before the copy pass reads it
_FEATURE_BYTES = 400_000

LEVELS = ("copy", "similar")


@dataclass(frozen=True)
class GroupingConfig:
    """Per-level thresholds (cosines of whitened, L2-normalised descriptors) and work bounds.

    Measured on nd-dev / nd-scenes with the shipped lite0 card (GeM at side 256) under identity
    whitening (what the Library uses below 2,000 photos), splitting the groups in two halves by a
    hash of their name: every copy in both halves has a copy-mate at cosine >= 0.57 (min 0.570 /
    0.637; rot90/rot180 lowest), so 0.55 loses no copy while verifying ~25 % fewer pairs than
    0.50. A verified rigid scene (>= 8 inliers, ratio >= 0.15) links 213 of 367 candidate
    same-scene pairs in nd-scenes and 1 of 1,298 others; at >= 6 inliers 236 and 1 (in nd-dev,
    screenshots sharing their synthetic app frame reach 15 inliers, hence the bar falls only with
    the *share* of geometry-backed cross pairs). Cosine cannot tell two photos of one kind of
    subject apart (two different zebras' copy groups: mean cross cosine 0.734, best pair 0.81),
    so cosine-only merges need a mean of 0.75: in a simulation with the copy groups fixed it
    found ~70 % of the nd-scenes same-scene pairs (halves 0.69 / 0.71) with no wrong merge in
    nd-dev; 0.68 finds ~77 % but merges the zebras and four other pairs of photos (precision
    0.96). Geometry closes most of the gap: shots of one landmark are often not among each
    other's 10 nearest neighbours (other buildings look alike globally), so the similar level
    looks 20 deep (30 finds nothing more on nd-scenes) and verifies capture pairs on demand;
    80.1 % of the nd-scenes pairs, nd-dev unchanged. Chance inliers (8 between two unrelated
    nd-dev photos) do not repeat across a capture's copies, hence a second probe per copy
    group. A whitening refitted on a large library spreads the cosines: re-check these values
    for it.
    """

    k: int = 10  # neighbours looked at per photo (and per view) for copies
    # the similar level looks further: shots of one landmark or panorama are often not each
    # other's nearest neighbours (other buildings look alike globally); geometry decides
    similar_k: int = 20
    copy_candidate_cosine: float = 0.55  # below this a pair is never verified as a copy
    # similar level: copy groups and single photos merge as units when the mean score over their
    # cross pairs is at least similar_cosine and every cross pair is at least similar_pair_floor
    similar_cosine: float = 0.75
    similar_scene_cosine: float = 0.50  # the mean needed when geometry backs every cross pair
    similar_pair_floor: float = 0.40
    # a verified shared rigid scene (this many RANSAC inliers at this inlier ratio; unrelated
    # photos rarely reach 6) scores a pair at least similar_scene_score
    similar_min_inliers: int = 6
    similar_min_inlier_ratio: float = 0.15
    similar_scene_score: float = 1.0
    # ...unless the inliers are what something laid on both photos in one place gives (an app's
    # frame around screenshots, a photographer's mark): in the same place on both canvases
    # (within similar_overlay_shift of the canvas side), leaving a strip across the whole canvas
    # without one (Verdict.gap: the photo between an app's bars, all above a signature) of at
    # least similar_overlay_gap, while the photos disagree away from them (agree_apart under
    # similar_overlay_agree; two shots from one place agree there: brackets 0.43-0.62, but for
    # the darkest against the brightest, texture in a few places only, 0.26: it loses its
    # backing, not its group, which its likeness and its other frames carry). Of
    # nd-dev's screenshots and captions of different photos, 740 pairs were backed as a scene:
    # this catches 633 (gap >= 0.53, agree_apart <= 0.29; the rest are captions placed
    # differently on each photo); of nd-scenes' 266 backed pairs, 1 (a handheld video's
    # corner; the similar level still finds 348 of its 433 pairs; the other shots in place
    # leave gaps of at most 0.38); of 101 pairs of desktop and phone screenshots (gap >= 0.42)
    # and photos signed in one corner, made apart from both sets (as in
    # tests/core/test_similar_scenes.py), 100. (Refusing inliers along one line, as a caption's
    # anywhere are, caught most of the rest but cost nd-scenes 12 backings, a sign or a roof
    # line, and 8 of its pairs)
    similar_overlay_shift: float = 0.02
    similar_overlay_gap: float = 0.38
    similar_overlay_agree: float = 0.35
    # ...and when such an overlay sits exactly in place (within this share of the canvas side,
    # as software places it: nd-dev's and phone screenshots measure 0.000-0.001, a handheld
    # video's frames 0.018) and gives many matches (an app's text: 94-153 between phone
    # screenshots; an extreme exposure bracket with little texture gives 10), it is also what
    # makes the photos look alike (phone screenshots of different photos reach cosine 0.84):
    # they never join, not even on likeness
    similar_overlay_exact: float = 0.005
    similar_overlay_matches: int = 20
    # shots of one scene (a burst, brackets, another angle, a panorama's frames) are taken within
    # minutes: two photos whose cameras say they were taken further apart than this are one
    # scene only if geometry shows it (a landmark visited again), never on likeness alone (two
    # zebras on two safaris); photos without a capture time are judged on likeness as before
    similar_time_gap_s: float = 3600.0
    use_views: bool = True  # query with rotated/mirrored views too
    max_group_size: int = 500  # complete-link checks grow with the square of the group
    feature_cache_size: int = 256  # photos whose local features stay in memory during a run

    def __post_init__(self) -> None:
        if self.k < 1 or self.similar_k < 1:
            raise ValueError("k and similar_k must be at least 1")
        # agree_apart is measured only that far in place, and for gaps that wide
        if self.similar_overlay_shift > IN_PLACE or self.similar_overlay_gap < OVERLAY_GAP:
            raise ValueError(f"similar_overlay_shift must be at most {IN_PLACE} and "
                             f"similar_overlay_gap at least {OVERLAY_GAP}")
        for name in ("copy_candidate_cosine", "similar_cosine", "similar_scene_cosine",
                     "similar_pair_floor",
                     "similar_scene_score"):
            if not -1.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be a cosine in [-1, 1]")


@dataclass(frozen=True)
class Group:
    """A group of duplicate photos at one level.

    ``anchor`` is the member the others were linked around (the medoid); ``scores`` maps each
    member to its similarity to the anchor (1.0 for the anchor itself).
    """

    level: str
    members: tuple[int, ...]
    scores: dict[int, float]
    anchor: int
    # copy level: share of each member's canvas that shows the photo (< 1: framed, see Verdict)
    photo: dict[int, float] = field(default_factory=dict)
    # copy level: how each member differs from its verified copies (keep-best's "unedited")
    edits: dict[int, Edits] = field(default_factory=dict)


@dataclass(frozen=True)
class GroupingProgress:
    """Passed to the progress callback: a stage name and `done` of `total` steps."""

    stage: str  # "candidates" | "features" | "verify" | "groups"
    done: int
    total: int


class VerdictCache(Protocol):
    """Stores verdicts between runs (the store implements it on SQLite)."""

    def get(self, key: str) -> Verdict | None: ...

    def put(self, key: str, verdict: Verdict) -> None: ...


def verdict_key(key_a: str, key_b: str) -> str:
    """Cache key for a pair of stable photo keys (content hashes); order-free, versioned."""
    lo, hi = sorted((key_a, key_b))
    return f"{VERIFIER_VERSION}:{lo}:{hi}"


class FeatureStore:
    """Per-photo local features on disk (``<folder>/<content hash>-<verifier tag>.bin``), bounded.

    Computing SIFT features is most of a photo's verification cost, and a rescan does not change
    a photo whose content hash is the same, so a regroup reads them back instead. Used only when
    the verifier's LocalFeatures offer ``to_bytes``/``from_bytes``; the oldest files go first
    when the folder grows past ``max_bytes``. Unreadable or stale files are treated as missing.
    The tag (feature version, working side, keypoint budget) keeps features extracted with other
    settings from being mixed in: they would change verdicts.
    """

    def __init__(self, folder: str | os.PathLike, max_bytes: int = 1 << 30) -> None:
        self.folder = Path(folder)
        self.max_bytes = max_bytes
        self._written = 0
        self.enabled = callable(getattr(LocalFeatures, "to_bytes", None)) and \
            callable(getattr(LocalFeatures, "from_bytes", None))

    def _path(self, key: str) -> Path:
        safe = "".join(c for c in key if c.isalnum() or c in "-_")[:128]
        return self.folder / f"{safe}.bin"

    def __contains__(self, key: str) -> bool:
        return self.enabled and self._path(key).exists()

    def touch(self, key: str) -> None:
        """Mark a stored entry as just used, so a trim keeps it (best effort)."""
        try:
            os.utime(self._path(key))
        except OSError:
            pass

    def get(self, key: str) -> LocalFeatures | None:
        if not self.enabled:
            return None
        path = self._path(key)
        try:
            blob = path.read_bytes()
        except OSError:
            return None
        try:
            feats = LocalFeatures.from_bytes(blob)  # type: ignore[attr-defined]
        except Exception as exc:  # an older format or a torn write: recompute
            log.debug("stale feature file %s: %s", path, exc)
            return None
        try:
            os.utime(path)  # recently used files are evicted last
        except OSError:
            pass
        return feats

    def put(self, key: str, feats: LocalFeatures) -> None:
        if not self.enabled:
            return
        try:
            blob = feats.to_bytes()  # type: ignore[attr-defined]
            self.folder.mkdir(parents=True, exist_ok=True)
            path = self._path(key)
            tmp = path.with_suffix(f".tmp{os.getpid()}-{threading.get_ident()}")
            tmp.write_bytes(blob)
            os.replace(tmp, path)
        except Exception as exc:  # a full disk must not stop grouping
            log.warning("cannot store local features: %s", exc)
            return
        self._written += len(blob)
        if self._written > self.max_bytes // 8:
            self._written = 0
            self.trim()

    def trim(self) -> None:
        """Delete the least recently used files until the folder fits in ``max_bytes``."""
        try:
            files = [(e.stat().st_mtime, e.stat().st_size, Path(e.path))
                     for e in os.scandir(self.folder) if e.name.endswith(".bin")]
        except OSError:
            return
        total = sum(f[1] for f in files)
        for _, size, path in sorted(files):
            if total <= self.max_bytes:
                break
            try:
                path.unlink()
                total -= size
            except OSError:
                pass


def _cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class _Cancelled(Exception):
    pass


def find_groups(
    ids: Sequence[int] | np.ndarray,
    vectors: np.ndarray,
    level: str = "copy",
    *,
    views: Mapping[int, np.ndarray] | None = None,
    image_paths: Mapping[int, str] | None = None,
    photo_keys: Mapping[int, str] | None = None,
    config: GroupingConfig = GroupingConfig(),
    not_duplicate: set[frozenset[int]] | frozenset[frozenset[int]] = frozenset(),
    verdict_cache: VerdictCache | None = None,
    verifier: PairVerifier | None = None,
    progress: Callable[[GroupingProgress], None] | None = None,
    cancel: threading.Event | None = None,
    feature_store: FeatureStore | None = None,
    shots: Mapping[int, str | None] | None = None,
) -> list[Group]:
    """Groups of at least two photos at ``level`` ("copy" or "similar"), largest first.

    ``vectors`` are whitened, L2-normalised descriptors aligned with ``ids``; ``views`` maps an id
    to descriptors of its rotated/mirrored views (same space). ``image_paths`` is needed to verify
    copies; ``photo_keys`` (content hashes) make verdicts cacheable in ``verdict_cache``. Pairs in
    ``not_duplicate`` are never grouped together. When ``cancel`` is set the run stops and
    returns an empty list (partial groups would be misleading). ``feature_store`` keeps the
    photos' local features between runs (keyed by ``photo_keys``). ``shots`` maps an id to its
    capture signature (mgdesk.core.shots): two photos whose camera metadata says they are two
    captures (a burst frame, an exposure bracket) are never copies, whatever their pixels say.
    """
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; expected one of {', '.join(LEVELS)}")
    ids_arr = np.asarray(ids, np.int64)
    vecs = np.asarray(vectors, np.float32)
    if len(ids_arr) != len(vecs):
        raise ValueError(f"{len(ids_arr)} ids for {len(vecs)} vectors")
    if len(ids_arr) < 2:
        return []
    if len(np.unique(ids_arr)) != len(ids_arr):
        raise ValueError("duplicate ids")
    if level == "copy" and image_paths is None:
        raise ValueError("the copy level verifies pairs and needs image_paths")
    ctx = _Context(ids_arr, vecs, level, views if config.use_views else None, image_paths or {},
                   photo_keys, config, not_duplicate, verdict_cache, verifier, progress, cancel,
                   feature_store, shots)
    try:
        return ctx.run()
    except _Cancelled:
        log.info("grouping cancelled")
        return []


class _Context:
    def __init__(self, ids, vecs, level, views, paths, keys, config, not_dup, cache, verifier,
                 progress, cancel, feature_store=None, shots=None) -> None:
        self.ids, self.vecs, self.level = ids, vecs, level
        self.row = {int(i): r for r, i in enumerate(ids.tolist())}
        # half precision: three views of 1,280 dims are 7.7 KB a photo (0.8 GB at 100k photos)
        self.views = {int(i): np.atleast_2d(np.asarray(v, np.float16))
                      for i, v in (views or {}).items() if int(i) in self.row and v is not None and len(v)}
        self.paths, self.keys, self.cfg = paths, keys, config
        self.not_dup = {frozenset(int(x) for x in p) for p in not_dup}
        self.cache, self.progress, self.cancel = cache, progress, cancel
        self.feature_store = feature_store
        self.shots = {int(i): Shot.parse(s) for i, s in (shots or {}).items() if s}
        self.verifier = verifier or PairVerifier()
        self.feature_tag = "-".join(str(x) for x in (
            FEATURE_VERSION, getattr(self.verifier, "feature_side", ""),
            getattr(self.verifier, "max_keypoints", "")))
        self.features: OrderedDict[int, LocalFeatures | None] = OrderedDict()
        self._features_lock = threading.Lock()  # the verifying threads share self.features
        # pairs being verified ahead, on other cores (see _verifying_ahead)
        self._ahead: dict[tuple[int, int], Future] = {}
        self._in_flight: list[Future] = []  # of those, the ones not known to be done (see _running)
        self._ahead_next = 0
        self._pool: ThreadPoolExecutor | None = None
        self._workers = 0
        self.links: dict[tuple[int, int], bool] = {}
        self.cos_memo: dict[tuple[int, int], float] = {}
        self.verdicts: dict[tuple[int, int], Verdict] = {}
        self.explained: dict[tuple[int, int, int], bool] = {}  # see _explains
        self.closer: OrderedDict[tuple[int, int], LocalFeatures | None] = OrderedDict()  # see _closer_look
        # no pair below this cosine can be linked at this level
        self.floor = config.copy_candidate_cosine if level == "copy" else \
            min(config.copy_candidate_cosine, config.similar_pair_floor)

    # -- helpers -------------------------------------------------------------------------
    def _check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise _Cancelled

    def _report(self, stage: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(GroupingProgress(stage, done, total))

    def cosine(self, a: int, b: int) -> float:
        """Best cosine over the photos and their views (a rotated copy matches a view)."""
        key = (a, b) if a < b else (b, a)
        c = self.cos_memo.get(key)
        if c is None:
            va, vb = self.vecs[self.row[a]], self.vecs[self.row[b]]
            c = float(va @ vb)
            if a in self.views:
                c = max(c, float((self.views[a].astype(np.float32) @ vb).max()))
            if b in self.views:
                c = max(c, float((self.views[b].astype(np.float32) @ va).max()))
            self.cos_memo[key] = c
        return c

    def _features(self, pid: int) -> LocalFeatures | None:
        """A photo's local features: kept in memory for the run (the last feature_cache_size),
        else from the feature store, else extracted. Safe from the verifying threads."""
        with self._features_lock:
            if pid in self.features:
                self.features.move_to_end(pid)
                return self.features[pid]
        path = self.paths.get(pid)
        feats = None
        fkey = self._feature_key(pid)
        if fkey is not None and self.feature_store is not None:
            feats = self.feature_store.get(fkey)
        if feats is not None:
            pass
        elif path is None:
            log.warning("no image path for photo %s; it cannot be verified", pid)
        else:
            try:
                feats = self.verifier.features(path)
            except Exception as exc:  # unreadable photo: it simply is not a verified copy
                log.warning("cannot read %s for verification: %s", path, exc)
            if feats is not None and fkey is not None and self.feature_store is not None:
                self.feature_store.put(fkey, feats)
        with self._features_lock:
            self.features[pid] = feats
            while len(self.features) > max(2, self.cfg.feature_cache_size):
                self.features.popitem(last=False)
        return feats

    def _feature_key(self, pid: int) -> str | None:
        """The feature store's key of a photo: its content key and the extraction settings."""
        key = self.keys.get(pid) if self.keys is not None else None
        return None if key is None else f"{key}-{self.feature_tag}"

    def _order(self, a: int, b: int) -> tuple[int, int]:
        """The order a pair is verified in (a verdict's "a" and "b"): stable, so the verdict does
        not depend on who asked first."""
        first, second = (a, b) if a < b else (b, a)
        if self.keys is not None and first in self.keys and second in self.keys \
                and self.keys[first] > self.keys[second]:
            first, second = second, first
        return first, second

    def verdict(self, a: int, b: int) -> Verdict:
        key = (a, b) if a < b else (b, a)
        if key in self.verdicts:
            return self.verdicts[key]
        ck = self._cache_key(a, b)
        ahead = self._ahead.pop(key, None)  # started ahead, or found cached by the look-ahead
        if ahead is not None:
            v, keep = ahead.result()
        else:
            cached = self.cache.get(ck) if ck is not None else None
            if cached is not None:
                self.verdicts[key] = cached
                return cached
            v, keep = self._verify(key)
        if keep and ck is not None:
            self.cache.put(ck, v)
        self.verdicts[key] = v
        return v

    def _cache_key(self, a: int, b: int) -> str | None:
        """The verdict cache's key of a pair (by content); None without a cache or content keys."""
        if self.cache is None or self.keys is None or a not in self.keys or b not in self.keys:
            return None
        return verdict_key(self.keys[a], self.keys[b])

    def _verify(self, key: tuple[int, int]) -> tuple[Verdict, bool]:
        """The verifier's verdict on a pair, and whether it may be kept (a photo unreadable now,
        or a failure, may not be so next time). Runs on the verifying threads too: it reads
        features only, and the caller stores the verdict."""
        first, second = self._order(*key)
        fa, fb = self._features(first), self._features(second)
        if fa is None or fb is None:
            return Verdict(False, 0.0, 0, 0.0, 1.0, "none", "photo could not be read"), False
        try:
            return self.verifier.verify(fa, fb), True
        except Exception as exc:  # one bad pair must not stop the run
            log.warning("verification of %s and %s failed: %s", first, second, exc)
            return Verdict(False, 0.0, 0, 0.0, 1.0, "none", f"verification failed: {exc}"), False

    def copy_linked(self, a: int, b: int, on_demand: bool = False) -> bool:
        """Whether a pair is verified as one capture (may share a copy group).

        ``on_demand`` (the cross pairs of a merge) verifies regardless of the cosine floor: the
        pair's groups are already linked, so the verifier, not the cosine, should decide.
        """
        key = (a, b) if a < b else (b, a)
        got = self.links.get(key)
        if got is not None:
            return got
        ok = False
        if self._verifiable(a, b, on_demand):
            self._check_cancel()
            ok = self.verdict(a, b).is_copy
        self.links[key] = ok
        return ok

    def _verifiable(self, a: int, b: int, on_demand: bool = False) -> bool:
        """Whether copy_linked asks the verifier about a pair (see there)."""
        return frozenset((a, b)) not in self.not_dup and bool(self.paths) and \
            different_captures(self.shots.get(a), self.shots.get(b)) is None and \
            (on_demand or self.cosine(a, b) >= self.cfg.copy_candidate_cosine)

    def _vouched_for(self, x: int, y: int, members: list[int]) -> bool:
        """Whether x and y, refused as a pair without evidence of two captures, are both
        verified copies of one member z, and share content: one of them holds all of z, or
        their own geometry fits on an overlap.

        Copies of one photo are copies of each other, but two edits of it often cannot be
        verified against each other: a thumbnail against a tight crop has too few matches, two
        crops of different corners overlap too little, stickers and a thumbnail add up to too
        much disagreement. When they share content only the edits stand between them, and z
        vouches for the pair if its own verdict found no evidence of two captures (undecided,
        or edits_apart: nothing moved, no clipping where they differ) and neither the user nor
        the capture metadata keep them apart. Two disjoint parts of z are not enough: a collage
        holds parts of two unrelated photos. z's links must be verified ones, so groups cannot
        chain further.

        Two edits that changed the same places differently (a watermark and a sharpened copy)
        are refused as a pair on detail that does not line up, as a moving subject is (or on
        detail each lacks, or tones no curve maps: Verdict.against); z vouches for them only
        when, seen from z, every such difference is one image's edit
        (PairVerifier.edits_explain), and z shows all of both at least at their detail."""
        v = self.verdicts.get((x, y) if x < y else (y, x))
        if v is None or not self._vouchable(x, y) or frozenset((x, y)) in self.not_dup or \
                different_captures(self.shots.get(x), self.shots.get(y)) is not None:
            return False
        if not (v.undecided or v.edits_apart):  # evidence two edits can give: z must explain it
            witnesses = [z for z in members if z not in (x, y) and self._link_known(x, z)
                         and self._link_known(y, z) and self._may_explain(z, x, y)]
            # each look costs an alignment of three photos: the likeliest originals first
            witnesses.sort(key=lambda z: -min(self.cosine(x, z), self.cosine(y, z)))
            return any(self._explains(z, x, y) for z in witnesses[:_MAX_WITNESSES])
        p = self.verifier.params
        overlapping = v.inliers >= p.min_inliers and v.inlier_ratio >= p.min_inlier_ratio
        # only links verified already: looking for a witness must not cost verifications (most
        # undecided pairs are unrelated photos with too few matches)
        return any(self._link_known(x, z) and self._link_known(y, z) and
                   (overlapping or self._covers(x, z) >= _WHOLE or self._covers(y, z) >= _WHOLE)
                   for z in members if z not in (x, y))

    def _covers(self, o: int, z: int) -> float:
        """The share of z's canvas that o, a verified copy of z, covers."""
        v = self.verdicts[(o, z) if o < z else (z, o)]
        return v.covered_a if self._order(o, z)[0] == z else v.covered_b

    def _vouchable(self, x: int, y: int) -> bool:
        """Refused without evidence of two captures, or on evidence that two edits can also
        give (Verdict.against): a common copy may vouch for the pair (see _vouched_for)."""
        v = self.verdicts.get((x, y) if x < y else (y, x))
        return v is not None and (v.undecided or v.edits_apart or bool(v.against))

    def _explains(self, z: int, x: int, y: int) -> bool:
        """Whether z, a verified copy of x and of y that _may_explain them, explains where they
        differ (see _vouched_for), looked at closer where they are crops shown larger than it
        is (_closer_look); memoised, as merges ask again."""
        key = (z, min(x, y), max(x, y))
        got = self.explained.get(key)
        if got is None:
            self._check_cancel()
            fz, fx, fy = self._features(z), self._features(x), self._features(y)
            try:
                got = False
                if None not in (fz, fx, fy):
                    zx, zy = self._map(z, x), self._map(z, y)
                    need = max(map_scale(zx), map_scale(zy))
                    if need > _FINER:  # x or y is finer than z's working image: look closer
                        fz, to_closer = self._closer_look(z, fz, need)
                        zx, zy = zx @ np.linalg.inv(to_closer), zy @ np.linalg.inv(to_closer)
                    got = map_scale(zx) <= _FINER and map_scale(zy) <= _FINER and \
                        self.verifier.edits_explain(fz, fx, fy, zx, zy)
            except Exception as exc:  # a degenerate alignment: no witness, and the run goes on
                log.warning("explaining %s and %s through %s failed: %s", x, y, z, exc)
                got = False
            self.explained[key] = got
        return got

    def _closer_look(self, z: int, fz: LocalFeatures, need: float) -> tuple[LocalFeatures, np.ndarray]:
        """z read again from its file at `need` times its working side (as far as the file holds
        detail; a few kept), and the map from its working pixels to that image's."""
        side = int(np.ceil(max(fz.width, fz.height) * need))
        key = (z, side)
        if key not in self.closer:
            path = self.paths.get(z)
            try:
                self.closer[key] = self.verifier.closer_look(path, side) if path else None
            except Exception as exc:  # unreadable now: it cannot look closer
                log.warning("cannot read %s again for a closer look: %s", path, exc)
                self.closer[key] = None
            while len(self.closer) > 4:
                self.closer.popitem(last=False)
        self.closer.move_to_end(key)
        closer = self.closer[key]
        if closer is None:
            return fz, np.eye(3)
        sx, sy = closer.width / fz.width, closer.height / fz.height  # pixel centres scale about -0.5
        return closer, np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5], [0.0, 0.0, 1.0]])

    def _may_explain(self, z: int, x: int, y: int) -> bool:
        """The cheap conditions of _explains: z shows all of x and of y, at about their detail
        or at most _CLOSER times coarser (from the verdicts alone)."""
        for o in (x, y):
            m = self._map(z, o)
            if m is None or not self._shows_all_of(z, o) or map_scale(m) > _CLOSER:
                return False
        return True

    def _map(self, z: int, o: int) -> np.ndarray | None:
        """z's working pixels to o's, from their verdict (None: no transform or features)."""
        v = self.verdicts.get((z, o) if z < o else (o, z))
        first, second = self._order(z, o)
        f1, f2 = self._features(first), self._features(second)
        if v is None or f1 is None or f2 is None:
            return None
        m = pixel_map(v, f1, f2)
        if m is None:
            return None
        return m if first == z else np.linalg.inv(m)

    def _shows_all_of(self, z: int, o: int) -> bool:
        """Whether z, a verified copy of o, covers all of o's photo (a frame aside)."""
        v = self.verdicts[(z, o) if z < o else (o, z)]
        photo_o = v.photo_b if self._order(z, o)[0] == z else v.photo_a
        return self._covers(z, o) >= _WHOLE * photo_o

    def _link_known(self, a: int, b: int) -> bool | None:
        return self.links.get((a, b) if a < b else (b, a))

    def _may_be_framed_copies(self, x: int, y: int) -> bool:
        """A refused pair that one transform still fits well: two framed copies of one photo
        fail on their frames, not on geometry (a cheap filter before _hold_one_photo)."""
        v = self.verdicts.get((x, y) if x < y else (y, x))
        return v is not None and not v.is_copy and v.inliers >= 40 and v.inlier_ratio >= 0.5

    def _hold_one_photo(self, x: int, y: int, members: list[int]) -> bool:
        """Whether x and y are copies of one photo although they fail as a pair: two framed copies
        (a border, a screenshot's window) disagree all along their frames. They are when both are
        verified copies holding the whole of an unframed member z, and at least one of them is
        framed: then each shows all of z, and the frame is where they differ. (Holding only part
        of z is not enough: a collage holds parts of two photos; and two unframed photos that
        both hold z but fail as a pair differ in the photo itself, like two exposures.)"""
        if frozenset((x, y)) in self.not_dup or \
                different_captures(self.shots.get(x), self.shots.get(y)) is not None:
            return False
        for z in members:
            if z in (x, y):
                continue
            hx, hy = self._holds_whole(x, z), self._holds_whole(y, z)
            # both hold all of z, and a frame is what they can differ by
            if hx is not None and hy is not None and min(hx, hy) < _WHOLE:
                return True
        return False

    def _holds_whole(self, o: int, z: int) -> float | None:
        """o's photo share when o is a verified copy of z that covers all of z and z shows the
        photo only; else None."""
        if not self.copy_linked(o, z, on_demand=True):  # cached when known
            return None
        v = self.verdicts[(o, z) if o < z else (z, o)]
        photo, photo_o = (v.photo_a, v.photo_b) if self._order(o, z)[0] == z else (v.photo_b, v.photo_a)
        return photo_o if self._covers(o, z) >= _WHOLE and photo >= _WHOLE else None

    def scene_weight(self, a: int, b: int) -> float | None:
        """Whether geometry says two photos show one scene: 1 for a verified copy or a shared
        rigid scene (at least ``similar_min_inliers`` RANSAC inliers at
        ``similar_min_inlier_ratio``, not placed as an overlay's are), else 0; None when the
        pair is not verified yet."""
        key = (a, b) if a < b else (b, a)
        v = self.verdicts.get(key)
        if v is None:
            return None
        cfg = self.cfg
        return float(v.is_copy or (v.inliers >= cfg.similar_min_inliers and not self._laid_on_both(v)
                                   and v.inlier_ratio >= cfg.similar_min_inlier_ratio))

    def _laid_on_both(self, v: Verdict) -> bool:
        """Whether what two photos share is something laid on both in one place (an app's frame
        around two screenshots, a photographer's mark), not a scene (see
        GroupingConfig.similar_overlay_shift)."""
        cfg = self.cfg
        return not v.is_copy and v.inliers >= cfg.similar_min_inliers \
            and v.canvas_shift <= cfg.similar_overlay_shift and v.gap >= cfg.similar_overlay_gap \
            and v.agree_apart < cfg.similar_overlay_agree

    # -- the run -------------------------------------------------------------------------
    def candidates(self) -> list[tuple[float, int, int, int]]:
        """Candidate pairs (cosine, a, b, rank) from each photo's nearest neighbours and its
        views'; rank is the pair's best position in either's neighbour list (0 = nearest)."""
        index = NeighbourSearch(self.ids, self.vecs)
        depth = self.cfg.k if self.level == "copy" else max(self.cfg.k, self.cfg.similar_k)
        k = min(depth + 1, len(self.ids))
        floor = self.floor
        pairs: dict[tuple[int, int], float] = {}
        ranks: dict[tuple[int, int], int] = {}
        n = len(self.ids)

        def take(query_ids: np.ndarray, queries: np.ndarray) -> None:
            scores, found = index.search(queries, k)
            for q, row_s, row_i in zip(query_ids.tolist(), scores, found):
                rank = 0
                for s, j in zip(row_s.tolist(), row_i.tolist()):
                    if j < 0 or j == q:
                        continue
                    rank += 1
                    if s < floor:
                        continue
                    key = (q, j) if q < j else (j, q)
                    if s > pairs.get(key, -2.0):
                        pairs[key] = s
                    if rank < ranks.get(key, 1 << 30):
                        ranks[key] = rank

        batch = 1024
        for start in range(0, n, batch):
            self._check_cancel()
            take(self.ids[start:start + batch], self.vecs[start:start + batch])
            self._report("candidates", min(start + batch, n), n)
        if self.views:
            vid = np.concatenate([np.full(len(v), i, np.int64) for i, v in self.views.items()])
            vq = np.concatenate(list(self.views.values()))
            for start in range(0, len(vid), batch):
                self._check_cancel()
                take(vid[start:start + batch], vq[start:start + batch].astype(np.float32))
        for key in pairs:  # the views may have found a better cosine than the search did
            pairs[key] = max(pairs[key], self.cosine(*key))
        return sorted(((s, a, b, ranks[(a, b)] - 1) for (a, b), s in pairs.items()),
                      key=lambda t: (-t[0], t[1], t[2]))

    def run(self) -> list[Group]:
        cands = self.candidates()
        copy_cands = [(s, a, b) for s, a, b, rank in cands
                      if s >= self.cfg.copy_candidate_cosine and rank < self.cfg.k]
        self._prefetch_features([(a, b) for _, a, b in copy_cands])
        if self.level == "copy":
            clusters = self._complete_link(copy_cands)
        else:
            units = self._complete_link(copy_cands) if self.paths else []
            clusters = self._merge_units(units, [(s, a, b) for s, a, b, _ in cands])
        groups = [self._group(m) for m in clusters if len(m) >= 2]
        groups.sort(key=lambda g: (-len(g.members), g.members))
        self._report("groups", len(groups), len(groups))
        return groups

    def _prefetch_features(self, pairs: list[tuple[int, int]]) -> None:
        """Extract, on every core, the local features the copy pass will ask for, into the
        feature store, before the pass starts.

        SIFT is most of a cold run's cost, and the greedy pass asks for one photo at a time. In
        a pool, with OpenCV's own threads set to one meanwhile, the cores extract side by side
        (2 cores: 120 photos in 3.6 s instead of 6.8 s). Only photos in a pair that may be
        verified (no cached verdict, no "not a duplicate" mark, not two captures) and not in
        the store are extracted. Without a store there is nowhere to put them: the pass
        extracts as it goes, as before."""
        store = self.feature_store
        if store is None or not store.enabled or not self.paths or self.keys is None:
            return
        todo: dict[str, str] = {}
        for a, b in pairs:
            key = (a, b) if a < b else (b, a)
            if frozenset(key) in self.not_dup or a not in self.keys or b not in self.keys or \
                    different_captures(self.shots.get(a), self.shots.get(b)) is not None:
                continue
            # a cached verdict needs no features; it is not taken into self.verdicts here,
            # which holds only the pairs the run asks about (keep-best averages over those)
            ck = self._cache_key(a, b)
            if ck is not None and self.cache.get(ck) is not None:
                continue
            for x in key:
                if x in self.paths:
                    todo.setdefault(self._feature_key(x), self.paths[x])
        # in the pass's order (best cosine first), as many as half the store holds; the ones
        # stored already are marked used, so the new ones do not push them out before the pass
        jobs = []
        for fkey, path in todo.items():
            if fkey in store:
                store.touch(fkey)
            else:
                jobs.append((fkey, path))
        jobs = jobs[:max(0, store.max_bytes // (2 * _FEATURE_BYTES))]
        workers = min(_EXTRACT_WORKERS, _cores())
        if workers < 2 or len(jobs) < _PREFETCH_MIN:
            return

        def extract(path: str) -> LocalFeatures | None:
            try:
                return self.verifier.features(path)
            except Exception:  # unreadable: the copy pass tries again and says why
                return None
        import cv2
        threads = cv2.getNumThreads()
        cv2.setNumThreads(1)
        try:
            with ThreadPoolExecutor(workers, thread_name_prefix="mgdesk-features") as pool:
                queue = iter(jobs)
                running: dict[Future, str] = {}

                def submit() -> None:
                    for fkey, path in queue:
                        running[pool.submit(extract, path)] = fkey
                        return
                for _ in range(2 * workers):  # a bounded window: features go to disk, not RAM
                    submit()
                done_n = 0
                while running:
                    finished, _ = wait(running, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        fkey = running.pop(fut)
                        feats = fut.result()
                        if feats is not None:
                            store.put(fkey, feats)
                        done_n += 1
                        if self.cancel is not None and self.cancel.is_set():
                            # start no more: drop the queued ones, wait for the running ones
                            for queued in [f for f in running if f.cancel()]:
                                running.pop(queued)
                            continue
                        submit()
                    self._report("features", done_n, len(jobs))
                self._check_cancel()
        finally:
            cv2.setNumThreads(threads)

    def _complete_link(self, cands: list[tuple[float, int, int]]) -> list[list[int]]:
        """Greedy complete-link copy groups over the candidate pairs, best cosine first (each
        merge checked by _mergeable), then _rehome."""
        cluster_of: dict[int, int] = {}
        members: dict[int, list[int]] = {}
        total = len(cands)
        with self._verifying_ahead():
            for done, (_, a, b) in enumerate(cands, 1):
                self._check_cancel()
                if done % 50 == 0 or done == total:
                    self._report("verify", done, total)
                self._verify_ahead(cands, done, cluster_of, members)
                self._link_step(a, b, cluster_of, members)
        return self._rehome(list(members.values()), cands)

    def _link_step(self, a: int, b: int, cluster_of: dict[int, int], members: dict[int, list[int]]) -> None:
        """One step of the greedy pass: merge the groups of a and b if _mergeable."""
        ca, cb = cluster_of.get(a), cluster_of.get(b)
        ma, mb = self._to_merge(a, b, cluster_of, members)
        if not ma or not self._mergeable(ma, mb, a, b):
            return
        new = ma + mb
        cid = ca if ca is not None else (cb if cb is not None else a)
        for old in (ca, cb):
            if old is not None and old != cid:
                members.pop(old, None)
        members[cid] = new
        for x in new:
            cluster_of[x] = cid

    def _to_merge(self, a: int, b: int, cluster_of: dict[int, int], members: dict[int, list[int]]
                  ) -> tuple[list[int], list[int]]:
        """The groups of a and b as the pass would try to merge them; ([], []) when it would not
        try (one group already, or too large together)."""
        ca, cb = cluster_of.get(a), cluster_of.get(b)
        if ca is not None and ca == cb:
            return [], []
        ma = members[ca] if ca is not None else [a]
        mb = members[cb] if cb is not None else [b]
        return ([], []) if len(ma) + len(mb) > self.cfg.max_group_size else (ma, mb)

    @contextmanager
    def _verifying_ahead(self) -> Iterator[None]:
        """Threads, one per core, that verify the pairs _start_verifying is given (by the copy
        pass, _verify_ahead, and the similar level's first merges) while the caller goes on;
        none with one core, or with no photos to read. verdict() takes their answers."""
        workers = min(_VERIFY_WORKERS, _cores())
        if workers < 2 or not self.paths:
            yield
            return
        import cv2
        from threadpoolctl import threadpool_limits
        threads = cv2.getNumThreads()
        # the cores are the threads' now: OpenCV's and BLAS's own threads would only compete
        # (measured on 2 cores, nd-dev: BLAS threads spent 40 s of CPU to save 6 s of 58)
        cv2.setNumThreads(1)
        blas = threadpool_limits(limits=1, user_api="blas")
        self._pool, self._workers, self._ahead_next = \
            ThreadPoolExecutor(workers, thread_name_prefix="mgdesk-verify"), workers, 0
        try:
            yield
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
            blas.restore_original_limits()
            cv2.setNumThreads(threads)
            # verdicts the pass did not come to ask for are kept for the next run, not used in this one
            ahead, self._ahead, self._in_flight = self._ahead, {}, []
            for (a, b), fut in ahead.items():
                if fut.cancelled() or fut.exception() is not None:
                    continue
                v, keep = fut.result()
                ck = self._cache_key(a, b)
                if keep and ck is not None:
                    self.cache.put(ck, v)

    def _verify_ahead(self, cands: list[tuple[float, int, int]], start: int,
                      cluster_of: dict[int, int], members: dict[int, list[int]]) -> None:
        """Keep the verifying threads busy with the candidate pairs the pass comes to next.

        The greedy pass asks for one verdict at a time (~25 ms of matching and comparing on a
        laptop core), so one core would do all the work. A verdict does not depend on the
        thread or the time it is computed on, so pairs verified ahead leave every group as the
        pass alone would make it. A pair is started when, as things stand, the pass will ask
        for it: its photos are in different groups, neither verified nor cached, and no pair
        across their groups is known to fail (then the pass most often stops before it)."""
        if self._pool is None:
            return
        running = self._running()
        self._ahead_next = max(self._ahead_next, start)  # cands[start - 1] is the pass's own
        # no further ahead than a few pairs per thread: far ahead, the groups the pass will have
        # made by then are unknown, and pairs started on today's fail more often to be needed
        # (without this bound, 8 threads verified 26 % more pairs than the pass asked for)
        horizon = min(len(cands), start + _AHEAD_PER_WORKER * self._workers)
        while running < 2 * self._workers and self._ahead_next < horizon:
            _, a, b = cands[self._ahead_next]
            self._ahead_next += 1
            ma, mb = self._to_merge(a, b, cluster_of, members)
            if not ma or not self._verifiable(a, b) or \
                    any(self.links.get((x, y) if x < y else (y, x)) is False for x in ma for y in mb):
                continue
            running += self._start_verifying([(a, b)])

    def _running(self) -> int:
        """Pairs being verified ahead right now (not those done and waiting to be asked for):
        counted over the few started last, not over every answer kept, which grow with the
        library."""
        self._in_flight = [f for f in self._in_flight if not f.done()]
        return len(self._in_flight)

    def _start_verifying(self, pairs: list[tuple[int, int]]) -> int:
        """Start verifying pairs on the verifying threads (when they run) whose verdicts are not
        known yet; how many were started. A cached verdict found on the way is kept as a done
        answer, so verdict() does not read it again."""
        if self._pool is None:
            return 0
        started = 0
        for a, b in pairs:
            key = (a, b) if a < b else (b, a)
            if key in self.links or key in self.verdicts or key in self._ahead:
                continue
            ck = self._cache_key(a, b)
            cached = self.cache.get(ck) if ck is not None else None
            if cached is not None:
                self._ahead[key] = known = Future()
                known.set_result((cached, False))  # False: it is stored already
                continue
            self._ahead[key] = future = self._pool.submit(self._verify, key)
            self._in_flight.append(future)
            started += 1
        return started

    def _mergeable(self, ma: list[int], mb: list[int], a: int, b: int) -> bool:
        """Whether two groups may merge over their candidate pair (a, b): every cross pair
        linked (see _linked). Work is what bounds the copy level (a verification is ~0.1 s),
        so the cheapest checks go first: "not a duplicate" marks, cross pairs already known to
        fail (then the candidate pair is never verified), the candidate pair, the remaining
        cross pairs from the lowest cosine up (the likeliest to fail). A pair refused without
        evidence of two captures waits for the end: by then the links that may vouch for it
        are verified."""
        cross = [((x, y) if x < y else (y, x)) for x in ma for y in mb]
        if any(frozenset(p) in self.not_dup for p in cross):
            return False
        both, excused, later = ma + mb, [], []

        def fine(x: int, y: int, on_demand: bool = False) -> bool:
            if self._linked(x, y, both, excused, on_demand):
                return True
            if self._vouchable(x, y):
                later.append((x, y))
                return True
            return False

        if any(self.links.get(p) is False and not fine(*p) for p in cross):
            return False
        if not fine(a, b):
            return False
        rest = sorted((p for p in cross if p not in self.links), key=lambda p: self.cosine(*p))
        return all(fine(x, y, on_demand=True) for x, y in rest) and \
            all(self._linked(x, y, both, excused) for x, y in later)

    def _whole_without(self, group: list[int], x: int) -> bool:
        """Whether `group` stays a group when x leaves it: x may be what vouches for a pair."""
        rest, excused = [y for y in group if y != x], []
        return all(self._linked(a, b, rest, excused)
                   for i, a in enumerate(rest) for b in rest[i + 1:])

    def _linked(self, x: int, y: int, members: list[int], excused: list[tuple[int, int]],
                on_demand: bool = False) -> bool:
        """Whether x and y may share a group of `members`: a verified copy, a pair vouched for
        by a common copy, or one of a few pairs (counted in `excused`) excused as two framed
        copies of a member."""
        if self.copy_linked(x, y, on_demand):
            return True
        if self._vouched_for(x, y, members):
            return True
        if len(excused) < _MAX_FRAME_QUARRELS and self._may_be_framed_copies(x, y) \
                and self._hold_one_photo(x, y, members):
            excused.append((x, y))
            return True
        return False

    def _rehome(self, clusters: list[list[int]], cands: list[tuple[float, int, int]]
                ) -> list[list[int]]:
        """Move a photo out of its group into a group at least as large that takes it whole.

        Greedy merging is final: a thumbnail that first met a heavily recompressed copy (both
        lost the same detail) stays with it, and that copy keeps them both out of the
        original's group. Moving it gains more verified pairs than it loses."""
        clusters = [list(m) for m in clusters]
        cluster_of = {x: c for c, m in enumerate(clusters) for x in m}
        neighbours: dict[int, set[int]] = {}
        for _, a, b in cands:
            for x, y in ((a, b), (b, a)):
                if y in cluster_of:
                    neighbours.setdefault(x, set()).add(y)
        for x in neighbours:  # a photo on its own is a group of one here
            if x not in cluster_of:
                cluster_of[x] = len(clusters)
                clusters.append([x])
        for _ in range(3):  # a move can open another; a few rounds settle it
            moved = False
            for x in sorted(neighbours, key=lambda x: (len(clusters[cluster_of[x]]), x)):
                c = cluster_of[x]
                targets = {cluster_of[y] for y in neighbours[x]} - {c}
                for d in sorted(targets, key=lambda d: (-len(clusters[d]), d)):
                    home, there = clusters[c], clusters[d]
                    if len(there) < len(home) or len(there) >= self.cfg.max_group_size:
                        break
                    if len(home) == 1 and not any(self._vouchable(x, y) for y in there):
                        continue  # complete-link already turned it away for a reason
                    if min(self.cosine(x, y) for y in there) < self.cfg.copy_candidate_cosine:
                        continue  # not a candidate copy of every member: not worth verifying
                    self._check_cancel()
                    nearest = max(there, key=lambda y: self.cosine(x, y))
                    if not self._mergeable([x], there, x, nearest) or not self._whole_without(home, x):
                        continue
                    home.remove(x)
                    there.append(x)
                    cluster_of[x] = d
                    moved = True
                    break
            if not moved:
                break
        return [m for m in clusters if len(m) >= 2]

    def _merge_units(self, units: list[list[int]], cands: list[tuple[float, int, int]]
                     ) -> list[list[int]]:
        """Similar groups: captures (copy groups and single photos) merged by average link.

        A copy group is one capture, so the similar level works on captures: two captures score
        the mean cosine of their photo pairs, raised to ``similar_scene_score`` when geometry
        links them (any two of their photos are verified copies, or their representatives — and
        a second member of each copy group — share a rigid scene), so a few verifications stand
        for all their photos. Two scene units merge when the mean score over their
        capture pairs reaches a threshold that falls from ``similar_cosine`` towards
        ``similar_scene_cosine`` with the share of those pairs that geometry backs, every capture
        photo pair reaches ``similar_pair_floor``, and no photo pair is marked "not a duplicate": the
        floor keeps it from chaining, the mean lets a burst or another angle join on its overall
        likeness rather than its single weakest pair. Every copy group sits inside one similar
        group.
        """
        cfg = self.cfg
        captures: list[list[int]] = [list(m) for m in units]
        grouped = {x for m in units for x in m}
        captures += [[p] for p in self.ids.tolist() if p not in grouped]
        cap_of = {x: c for c, m in enumerate(captures) for x in m}
        rep = [self._representative(m) for m in captures]
        second = [max((x for x in m if x != r), key=lambda x: self.cosine(x, r), default=None)
                  for m, r in zip(captures, rep)]
        cap_neighbours: dict[int, set[int]] = {c: set() for c in range(len(captures))}
        for s, a, b in cands:
            ca, cb = cap_of[a], cap_of[b]
            if s >= cfg.similar_pair_floor and ca != cb:
                cap_neighbours[ca].add(cb)
                cap_neighbours[cb].add(ca)
        memo: dict[tuple[int, int], tuple[float, float, bool] | None] = {}

        def capture_score(c: int, d: int) -> tuple[float, float, bool] | None:
            """(score, geometry weight, verified) of two captures: the mean cosine of their photo
            pairs, raised towards ``similar_scene_score`` by the geometry weight — that of their
            representatives' verdict, or 1 when any two of their photos are verified copies; None
            when they may never be grouped (a pair marked "not a duplicate", or one below the
            floor). Only the representatives' rigid-scene evidence counts: screenshots of
            different photos share their app frame's geometry."""
            key = (c, d) if c < d else (d, c)
            if key in memo:
                return memo[key]
            total, copy, overlaid = 0.0, False, False
            for x in captures[c]:
                for y in captures[d]:
                    cos = self.cosine(x, y)
                    if frozenset((x, y)) in self.not_dup or cos < cfg.similar_pair_floor:
                        memo[key] = None
                        return None
                    total += cos
                    v = self.verdicts.get((x, y) if x < y else (y, x))
                    copy = copy or (v is not None and v.is_copy)
                    overlaid = overlaid or (v is not None and self._laid_on_both(v)
                                            and v.canvas_shift <= cfg.similar_overlay_exact
                                            and v.inliers >= cfg.similar_overlay_matches)
            mean = total / (len(captures[c]) * len(captures[d]))
            if not copy and overlaid:
                # what makes them alike is what software laid on both (the app around two
                # screenshots, verified in the copy pass): never one scene, not even on likeness
                memo[key] = None
                return None
            weights = [self.scene_weight(x, y) for x, y in probes(c, d)]
            known = copy or None not in weights or 0.0 in weights
            w = 1.0 if copy else min((x for x in weights if x is not None), default=0.0)
            if not copy and taken_apart(c, d):
                if known and w == 0.0:  # taken apart and no shared scene: never one group
                    memo[key] = None
                    return None
                if not known:  # likeness alone does not count: worth something only once
                    # verified (link verifies it when the merge hangs on it)
                    return (cfg.similar_pair_floor - 1.0, 0.0, False)
            out = (mean + w * max(0.0, cfg.similar_scene_score - mean), w, known)
            if known:
                memo[key] = out
            return out

        taken = [[self.shots[x].taken for x in m if x in self.shots and self.shots[x].taken]
                 for m in captures]

        def taken_apart(c: int, d: int) -> bool:
            """Whether the cameras say the two captures were taken over similar_time_gap_s apart
            (every dated pair of their photos is; False when either has no capture time)."""
            try:
                gaps = [abs((t - u).total_seconds()) for t in taken[c] for u in taken[d]]
            except TypeError:  # a zone-aware and a naive time: no telling how far apart
                return False
            return bool(gaps) and min(gaps) > cfg.similar_time_gap_s

        def probes(c: int, d: int) -> list[tuple[int, int]]:
            """The photo pairs whose geometry stands for two captures: their representatives,
            and a second member of each that has one. A real shared scene shows in every copy
            of a capture; chance inliers between unrelated photos do not repeat."""
            out = [(rep[c], rep[d])]
            out += [(second[c], rep[d])] if second[c] is not None else []
            out += [(rep[c], second[d])] if second[d] is not None else []
            return out

        def verify(c: int, d: int) -> tuple[float, float, bool] | None:
            for x, y in probes(c, d):
                self._check_cancel()
                self.verdict(x, y)
                if self.scene_weight(x, y) == 0.0:
                    break  # the weakest probe decides: no need for the others
            return capture_score(c, d)

        members: dict[int, list[int]] = {c: [c] for c in range(len(captures))}
        neighbours = {c: set(nb) for c, nb in cap_neighbours.items()}
        step = cfg.similar_cosine - cfg.similar_scene_cosine

        def link(u: int, v: int) -> float | None:
            """How far the mean capture-pair score clears its threshold (>= 0: merge), or None
            when the units must never merge.

            Capture pairs not verified yet are verified here, but only when the merge hangs on
            them (it fails as things stand and would pass were they all backed), captures
            taken far apart first (each must be backed), then best cosine first, stopping as
            soon as the merge is decided: landmarks and panoramas look alike to the global
            descriptor, so the shots of one scene are often not each other's nearest
            neighbours, yet their shared geometry shows once their units meet."""
            mu, mv = members[u], members[v]
            if sum(len(captures[c]) for c in mu) + sum(len(captures[c]) for c in mv) \
                    > cfg.max_group_size:
                return None
            total, backed = 0.0, 0.0
            unknown: list[tuple[float, int, int]] = []
            for c in mu:
                for d in mv:
                    got = capture_score(c, d)
                    if got is None:  # marked apart, or a photo pair below the floor
                        return None
                    total += got[0]
                    backed += got[1]
                    if not got[2]:
                        unknown.append((got[0], c, d))
            n = len(mu) * len(mv)

            def margin(total: float, backed: float) -> float:
                return total / n - (cfg.similar_cosine - backed / n * step)

            m = margin(total, backed)
            # captures taken far apart and not verified yet (their placeholder score is below
            # any real one): the merge needs each of them backed, not just a good mean
            apart = sum(sc < cfg.similar_pair_floor for sc, _, _ in unknown)
            if (m >= 0 and not apart) or not unknown or not self.paths:
                return m if not apart else min(m, -1.0)
            gain = [max(sc, cfg.similar_scene_score) - sc for sc, _, _ in unknown]
            best_total = total + sum(gain)
            if margin(best_total, backed + len(unknown)) < 0:
                return m  # not even if every unverified pair were backed
            unknown.sort(key=lambda t: (t[0] >= cfg.similar_pair_floor, -t[0]))  # far apart first
            left = len(unknown)
            for sc, c, d in unknown:
                got = verify(c, d)
                if got is None:
                    return None
                left -= 1
                apart -= sc < cfg.similar_pair_floor <= got[0]  # verified and backed
                total += got[0] - sc
                best_total -= max(sc, cfg.similar_scene_score) - got[0]
                backed += got[1]
                m = margin(total, backed)
                if (m >= 0 and not apart) or margin(best_total, backed + left) < 0:
                    return m  # decided either way: the rest stay unverified
            return m if not apart else min(m, -1.0)

        heap: list[tuple[float, int, int]] = []
        # every capture is its own unit yet: the pairs ahead whose merge hangs on geometry (not
        # known, and not alike enough on likeness alone) are verified on the other cores meanwhile,
        # their first probe only (the others are asked only if it shows a shared scene)
        first = [(u, v) for u, nb in neighbours.items() for v in nb if u < v]
        ahead = 0
        with self._verifying_ahead():
            for i, (u, v) in enumerate(first):
                self._check_cancel()
                if i % 50 == 0:
                    self._report("scenes", i, len(first))
                ahead = max(ahead, i + 1)
                # unbounded: most pairs here need no verification, so a horizon of a few pairs
                # per thread left the threads idle (nd-scenes similar: no gain at all)
                while self._pool is not None and ahead < len(first) and self._running() < 2 * self._workers:
                    c, d = first[ahead]
                    ahead += 1
                    got = capture_score(c, d)
                    if got is not None and not got[2] and got[0] < cfg.similar_cosine:
                        self._start_verifying(probes(c, d)[:1])
                m = link(u, v)
                if m is not None and m >= 0:
                    heap.append((-m, u, v))
        self._report("scenes", len(first), len(first))
        heapq.heapify(heap)
        nxt = len(captures)
        while heap:
            self._check_cancel()
            _, u, v = heapq.heappop(heap)
            if u not in members or v not in members:
                continue  # one of them was merged since: its new unit has its own entries
            w = nxt
            nxt += 1
            members[w] = members.pop(u) + members.pop(v)
            nb = (neighbours.pop(u) | neighbours.pop(v)) - {u, v}
            neighbours[w] = set()
            for x in nb:
                neighbours[x] -= {u, v}
                m = link(w, x)
                if m is None:
                    continue
                neighbours[w].add(x)
                neighbours[x].add(w)
                if m >= 0:
                    heapq.heappush(heap, (-m, min(w, x), max(w, x)))
        return [[p for c in caps for p in captures[c]] for caps in members.values()]

    def _representative(self, photos: list[int]) -> int:
        """The member most like the others (a copy group's medoid by cosine)."""
        if len(photos) <= 2:
            return min(photos)
        sims = [sum(self.cosine(x, y) for y in photos if y != x) for x in photos]
        return photos[int(np.argmax(sims))]

    def _group(self, m: list[int]) -> Group:
        m = sorted(m)
        sims = np.array([[1.0 if x == y else self.cosine(x, y) for y in m] for x in m])
        closeness = sims.sum(axis=1)
        if self.level == "copy":
            # the member verified with the most others (the photo the edits were made from,
            # where a common copy vouched for pairs of edits), then the cosine medoid
            verified = [sum(bool(self._link_known(x, y)) for y in m if y != x) for x in m]
            anchor = m[max(range(len(m)), key=lambda i: (verified[i], closeness[i]))]
        else:
            anchor = m[int(np.argmax(closeness))]
        scores = {}
        for x in m:
            if x == anchor:
                scores[x] = 1.0
            elif self.level == "copy":
                v = self.verdict(anchor, x)
                scores[x] = round(float(v.score), 4)
            else:
                scores[x] = round(self.cosine(anchor, x), 4)
        # the similar level reads frames off the verdicts its copy groups already have; a frame
        # shows only between copies, and verifying more pairs here would cost for nothing
        photo, edits = self._copy_measures(m, anchor if self.level == "copy" else None)
        return Group(self.level, tuple(m), scores, anchor, photo, edits)

    def _copy_measures(self, m: list[int], anchor: int | None
                       ) -> tuple[dict[int, float], dict[int, Edits]]:
        """Per member: the share of its canvas that shows the photo, the smallest any verified
        copy in the group reveals (one partner is enough to show a frame); and how it differs
        from its verified copies on average (see Edits). Pairs with `anchor` are verified if
        need be; others only count when already verified."""
        photo = {x: 1.0 for x in m}
        seen: dict[int, list[Verdict]] = {x: [] for x in m}
        for i, x in enumerate(m):
            for y in m[i + 1:]:
                v = self.verdicts.get((x, y))
                if v is None and anchor is not None and anchor in (x, y):
                    v = self.verdict(x, y)
                if v is None or not v.is_copy:
                    continue
                first, second = self._order(x, y)
                photo[first] = min(photo[first], float(v.photo_a))
                photo[second] = min(photo[second], float(v.photo_b))
                seen[x].append(v)
                seen[y].append(v)
        edits = {x: Edits(content=float(np.mean([v.residual for v in vs])),
                          turned=float(np.mean([v.turned for v in vs])),
                          tone=float(np.mean([v.tone_shift for v in vs])))
                 for x, vs in seen.items() if vs}
        return photo, edits


__all__ = ["LEVELS", "Group", "GroupingConfig", "GroupingProgress", "VerdictCache", "find_groups",
           "verdict_key"]
