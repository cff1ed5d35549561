"""Runners for the duplicate finders mgdesk is compared with; each gives groups of file names.

Every peer runs at its usual default (the settings documented in ../shared/data/README.md), on one
folder, timed by wall clock including decoding. A peer that is not installed raises PeerUnavailable
so the bench can say "not installed" and go on.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif"})


class PeerUnavailable(RuntimeError):
    """The peer tool is not installed here."""


@dataclass(frozen=True)
class PeerRun:
    name: str
    groups: list[list[str]]  # file names (no folder), groups of two or more
    seconds: float


@dataclass(frozen=True)
class Peer:
    name: str
    run: Callable[[Path], PeerRun]


def image_files(folder: Path) -> list[Path]:
    """The images directly in the folder, sorted, as the hashing peers see them."""
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


# --- czkawka ---------------------------------------------------------------------------------


def run_czkawka(folder: Path, similarity: int = 5) -> PeerRun:
    """Czkawka core through its PyPI bindings; similarity 5 is the app's default.

    Its grouping depends on thread scheduling: repeated runs on the same folder differ by a few
    pairs (nd-dev F1 0.513-0.519 at 5, 0.56-0.57 at 15), so read its figures to two decimals.
    """
    try:
        import czkawka
    except ImportError as exc:  # pragma: no cover - depends on the machine
        raise PeerUnavailable(f"czkawka: {exc}") from exc
    start = time.perf_counter()
    finder = czkawka.ImageSimilarity()
    finder.set_directories([Path(folder)])
    finder.set_similarity(similarity)
    raw = finder.find_similar()
    seconds = time.perf_counter() - start
    groups = [sorted({Path(p).name for p in group}) for group in raw]
    return PeerRun(f"czkawka (similarity {similarity})", [g for g in groups if len(g) > 1], seconds)


# --- imagehash + union-find, as imagededup groups by default ---------------------------------


def run_imagehash(
    folder: Path, method: str = "phash", max_distance: int = 10, *, respect_exif: bool = True
) -> PeerRun:
    """imagehash pHash/dHash (64 bits); every pair within max_distance bits joined by union-find.

    imagededup's default is max_distance_threshold=10 and it reports, per file, all files within
    it; reading those as groups joins them transitively, which is what union-find does. Images are
    hashed as displayed (EXIF orientation applied), as the figures in the data README were taken;
    without it every `exif_rotated` copy is missed (pHash F1 0.60 -> 0.52 on nd-dev).
    """
    try:
        import imagehash
        from PIL import Image, ImageOps
    except ImportError as exc:  # pragma: no cover - depends on the machine
        raise PeerUnavailable(f"imagehash: {exc}") from exc
    hasher = {"phash": imagehash.phash, "dhash": imagehash.dhash}[method]
    start = time.perf_counter()
    names: list[str] = []
    bits: list[np.ndarray] = []
    for path in image_files(folder):
        try:
            with Image.open(path) as img:
                h = hasher(ImageOps.exif_transpose(img) if respect_exif else img)
        except (OSError, ValueError) as exc:
            log.warning("%s: cannot hash %s: %s", method, path.name, exc)
            continue
        names.append(path.name)
        bits.append(np.asarray(h.hash, dtype=np.float32).ravel())
    groups = _union_find_groups(names, _hamming_matrix(np.stack(bits)) if bits else None, max_distance)
    seconds = time.perf_counter() - start
    label = {"phash": "pHash", "dhash": "dHash"}[method]
    return PeerRun(f"imagehash {label} (distance <= {max_distance})", groups, seconds)


def _hamming_matrix(bits: np.ndarray) -> np.ndarray:
    """All pairwise Hamming distances between rows of 0/1 floats, by two matrix products."""
    return bits @ (1.0 - bits).T + (1.0 - bits) @ bits.T


def _union_find_groups(
    names: list[str], distances: np.ndarray | None, max_distance: int
) -> list[list[str]]:
    parent = list(range(len(names)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    if distances is not None:
        rows, cols = np.nonzero(np.triu(distances <= max_distance + 0.5, k=1))
        for i, j in zip(rows.tolist(), cols.tolist()):
            ri, rj = find(i), find(j)
            if ri != rj:
                parent[ri] = rj
    clusters: dict[int, list[str]] = {}
    for i, name in enumerate(names):
        clusters.setdefault(find(i), []).append(name)
    return [sorted(c) for c in clusters.values() if len(c) > 1]


# --- findimagedupes (Debian) -----------------------------------------------------------------


def run_findimagedupes(folder: Path, threshold_percent: int = 90) -> PeerRun:
    """Debian's findimagedupes at its default 90 %; one group per output set."""
    exe = shutil.which("findimagedupes")
    if exe is None:
        raise PeerUnavailable("findimagedupes: not installed (apt-get install findimagedupes)")
    files = [str(p) for p in image_files(folder)]
    # One file per line and a blank line after each set: robust to spaces in names.
    view = 'VIEW(){ for f in "$@"; do printf "%s\\n" "$f"; done; printf "\\n"; }'
    start = time.perf_counter()
    proc = subprocess.run(
        [exe, "-q", "-q", f"--threshold={threshold_percent}%", "-i", view, "--", *files],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"findimagedupes failed ({proc.returncode}): {proc.stderr.strip()[:500]}")
    groups = [
        sorted({Path(line).name for line in block.splitlines() if line.strip()})
        for block in proc.stdout.split("\n\n")
    ]
    return PeerRun(f"findimagedupes ({threshold_percent} %)", [g for g in groups if len(g) > 1], seconds)


PEERS: list[Peer] = [
    Peer("phash", lambda folder: run_imagehash(folder, "phash", 10)),
    Peer("dhash", lambda folder: run_imagehash(folder, "dhash", 10)),
    Peer("czkawka-5", lambda folder: run_czkawka(folder, 5)),
    Peer("czkawka-15", lambda folder: run_czkawka(folder, 15)),
    Peer("findimagedupes", lambda folder: run_findimagedupes(folder, 90)),
]


def select(names: Iterable[str] | None) -> list[Peer]:
    """The peers with the given short names, in bench order (all of them for None)."""
    if names is None:
        return list(PEERS)
    wanted = set(names)
    unknown = wanted - {p.name for p in PEERS}
    if unknown:
        raise ValueError(f"unknown peer(s) {sorted(unknown)}; known: {[p.name for p in PEERS]}")
    return [p for p in PEERS if p.name in wanted]
