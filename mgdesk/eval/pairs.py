"""Pair-level scores of predicted duplicate groups against a truth.csv (copy_group / scene_group).

Every tool (mgdesk at any level, or a peer) is reduced to groups of file names; a group of n files
claims n(n-1)/2 pairs. Scoring pairs rather than groups is what makes tools that group differently
(complete-link vs union-find chains) comparable, and it is how the shared data is documented.
"""

from __future__ import annotations

import csv
import itertools
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

Pair = tuple[str, str]
"""Two file names, sorted, so that (a, b) and (b, a) are the same pair."""


@dataclass(frozen=True)
class TruthRow:
    file: str
    copy_group: str
    scene_group: str
    transform: str


@dataclass(frozen=True)
class Truth:
    """The ground truth of one data set, keyed by file name (not path)."""

    rows: Mapping[str, TruthRow]

    @property
    def files(self) -> frozenset[str]:
        return frozenset(self.rows)

    def copy_pairs(self) -> set[Pair]:
        """Pairs sharing copy_group: the pairs a copy finder should report."""
        return _pairs_within(self._members(lambda r: r.copy_group))

    def scene_pairs(self) -> set[Pair]:
        """Pairs sharing scene_group but not copy_group: other shots of one scene, never copies."""
        same_scene = _pairs_within(self._members(lambda r: r.scene_group))
        return same_scene - self.copy_pairs()

    def original_copy_pairs(self) -> dict[str, set[Pair]]:
        """Per transform, the (original, edited copy) pairs of each copy group."""
        by_group: dict[str, list[TruthRow]] = defaultdict(list)
        for row in self.rows.values():
            by_group[row.copy_group].append(row)
        out: dict[str, set[Pair]] = defaultdict(set)
        for members in by_group.values():
            originals = [r for r in members if r.transform == "original"]
            for original in originals:
                for row in members:
                    if row.transform != "original":
                        out[row.transform].add(_pair(original.file, row.file))
        return dict(out)

    def _members(self, key) -> list[list[str]]:
        groups: dict[str, list[str]] = defaultdict(list)
        for row in self.rows.values():
            groups[key(row)].append(row.file)
        return list(groups.values())


def load_truth(csv_path: str | Path) -> Truth:
    """Read a truth.csv with columns file, copy_group, scene_group, transform (others ignored)."""
    rows: dict[str, TruthRow] = {}
    with open(csv_path, newline="", encoding="utf-8") as fh:
        for record in csv.DictReader(fh):
            rows[record["file"]] = TruthRow(
                file=record["file"],
                copy_group=record["copy_group"],
                scene_group=record.get("scene_group") or record["copy_group"],
                transform=record.get("transform") or "",
            )
    return Truth(rows)


def pairs_of(groups: Iterable[Iterable[str]], known: Iterable[str] | None = None) -> set[Pair]:
    """All pairs inside the groups; names are reduced to file names.

    With `known`, names outside it are dropped (and logged), so a stray file a tool found in the
    folder (a thumbnail cache, say) neither helps nor hurts its score.
    """
    allowed = frozenset(known) if known is not None else None
    cleaned: list[list[str]] = []
    unknown: set[str] = set()
    for group in groups:
        names = sorted({Path(str(name)).name for name in group})
        if allowed is not None:
            unknown.update(n for n in names if n not in allowed)
            names = [n for n in names if n in allowed]
        cleaned.append(names)
    if unknown:
        log.warning("ignoring %d file(s) not in the truth, e.g. %s", len(unknown), sorted(unknown)[:3])
    return _pairs_within(cleaned)


@dataclass(frozen=True)
class PairScores:
    """Pair precision / recall / F1. Precision is 1.0 when nothing is predicted (nothing wrong
    was said) and recall is 1.0 when there is nothing to find; F1 follows from those two."""

    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def predicted(self) -> int:
        return self.true_positives + self.false_positives

    @property
    def expected(self) -> int:
        return self.true_positives + self.false_negatives

    @property
    def precision(self) -> float:
        return self.true_positives / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.expected if self.expected else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def pair_scores(predicted: Iterable[Iterable[str]], truth: Truth) -> PairScores:
    """Score predicted groups against the truth's copy pairs."""
    found = pairs_of(predicted, truth.files)
    expected = truth.copy_pairs()
    tp = len(found & expected)
    return PairScores(tp, len(found) - tp, len(expected) - tp)


@dataclass(frozen=True)
class TransformRecall:
    found: int
    total: int

    @property
    def recall(self) -> float:
        return self.found / self.total if self.total else float("nan")


def recall_per_transform(
    predicted: Iterable[Iterable[str]], truth: Truth
) -> dict[str, TransformRecall]:
    """Per transform, the share of (original, copy) pairs that landed in one predicted group."""
    found = pairs_of(predicted, truth.files)
    return {
        transform: TransformRecall(len(pairs & found), len(pairs))
        for transform, pairs in sorted(truth.original_copy_pairs().items())
    }


@dataclass(frozen=True)
class SceneShare:
    """How many same-scene (not copy) pairs were put in one group.

    At the copy level this is the share wrongly called copies (lower is better); at the similar
    level it is the share of other shots found (higher is better)."""

    grouped: int
    total: int
    # pairs whose photos are of different scenes: wrong at every level (the similar level's
    # false groups; a copy finder's worst ones)
    cross_scene: int = 0

    @property
    def share(self) -> float:
        return self.grouped / self.total if self.total else float("nan")


def same_scene_share(predicted: Iterable[Iterable[str]], truth: Truth) -> SceneShare:
    found = pairs_of(predicted, truth.files)
    scene = truth.scene_pairs()
    same = _pairs_within(truth._members(lambda r: r.scene_group))
    return SceneShare(len(scene & found), len(scene), len(found - same))


@dataclass(frozen=True)
class KeeperScore:
    """How often keep-best keeps the original, over the predicted groups that hold one: the
    suggestion a user acts on when removing the rest. ``instead`` counts, per transform, the
    copies kept in its place."""

    kept_original: int
    groups: int
    instead: Mapping[str, int]

    @property
    def share(self) -> float:
        return self.kept_original / self.groups if self.groups else float("nan")

    def describe(self) -> str:
        text = f"kept the original in {self.kept_original}/{self.groups} groups"
        if self.instead:
            text += "; kept instead: " + ", ".join(f"{t} {n}" for t, n in
                                                  sorted(self.instead.items(), key=lambda x: (-x[1], x[0])))
        return text


def keeper_score(predicted: Iterable[Iterable[str]], keepers: Iterable[str], truth: Truth) -> KeeperScore:
    """KeeperScore of groups of file names and the name each group keeps (in the same order)."""
    kept, total, instead = 0, 0, defaultdict(int)
    for group, keeper in zip(predicted, keepers):
        transforms = {name: truth.rows[name].transform for name in group if name in truth.rows}
        if "original" not in transforms.values():
            continue
        total += 1
        if transforms.get(keeper) == "original":
            kept += 1
        else:
            instead[transforms.get(keeper, "unknown")] += 1
    return KeeperScore(kept, total, dict(instead))


def _pair(a: str, b: str) -> Pair:
    return (a, b) if a <= b else (b, a)


def _pairs_within(groups: Iterable[Iterable[str]]) -> set[Pair]:
    out: set[Pair] = set()
    for group in groups:
        names = sorted(set(group))
        out.update(itertools.combinations(names, 2))
    return out
