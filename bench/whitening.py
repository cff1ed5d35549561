"""Does PCA whitening help copy retrieval, and how much? (identity vs fitted, shrinkage, dimensions)

Two-fold over nd-dev copy groups: whitening is fitted on one half's images plus nd-scenes (standing
in for "the rest of the user's library"), then the other half's images query that half plus
nd-scenes. Prints mean average precision over each query's copies, the share of copies among the 10
nearest neighbours, and the threshold separability: the share of copy pairs scoring above the
99th-percentile score of non-copy pairs (how well one cosine threshold splits them).

    python bench/whitening.py [--cache /tmp/mgdesk-whitening.npz]
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from mgdesk.core.embedding import Whitening, l2n

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def descriptors(cache: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    rows = list(csv.DictReader(open(DATA / "nd-dev" / "truth.csv")))
    scenes = sorted((DATA / "nd-scenes" / "images").glob("*.jpg"))
    files = [DATA / "nd-dev" / "images" / r["file"] for r in rows] + scenes
    labels = np.array([r["copy_group"] for r in rows] + [f"scene:{p.name}" for p in scenes])
    if cache.exists():
        return list(map(str, files)), np.load(cache)["x"], labels
    from mgdesk.core.embedding import Embedder

    emb = Embedder("lite0")
    x = np.stack([r.descriptor for r in emb.embed_paths(files)])
    np.savez(cache, x=x)
    return list(map(str, files)), x, labels


def evaluate(x: np.ndarray, labels: np.ndarray, queries: np.ndarray, database: np.ndarray) -> tuple[float, float, float]:
    sims = x[queries] @ x[database].T
    aps, r10, pos, neg = [], [], [], []
    for qi, q in enumerate(queries):
        s = sims[qi].copy()
        self_mask = database == q
        rel = (labels[database] == labels[q]) & ~self_mask
        s[self_mask] = -np.inf
        if not rel.any():  # a distractor: no copies to find, only non-copy scores to collect
            neg.extend(s[~self_mask])
            continue
        order = np.argsort(-s)
        r = rel[order]
        hits = np.cumsum(r)
        aps.append(float((hits / (np.arange(len(r)) + 1) * r).sum() / max(r.sum(), 1)))
        r10.append(r[:10].sum() / max(r.sum(), 1))
        pos.extend(s[rel])
        neg.extend(s[~rel & ~self_mask])
    cut = np.percentile(neg, 99)
    return float(np.mean(aps)), float(np.mean(r10)), float((np.array(pos) > cut).mean())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", type=Path, default=Path("/tmp/mgdesk-whitening.npz"))
    args = ap.parse_args()
    files, x, labels = descriptors(args.cache)
    dev = np.array([not lbl.startswith("scene:") for lbl in labels])
    groups = sorted(set(labels[dev]))
    halves = [set(groups[0::2]), set(groups[1::2])]
    configs = [("identity", None, None)] + [
        (f"shrink {s:g}, dim {d or 'all'}", s, d) for s in (0.1, 0.5, 1.0) for d in (None, 256, 128)
    ]
    print(f"{len(files)} descriptors, dim {x.shape[1]}; 2-fold over {len(groups)} copy groups")
    print(f"{'whitening':26} {'mAP':>6} {'R@10':>6} {'copies>p99 non-copy':>20}")
    for name, shrink, dim in configs:
        scores = []
        for fold in range(2):
            test = np.array([dev[i] and labels[i] in halves[fold] for i in range(len(labels))])
            fit = ~test & dev | ~dev
            w = Whitening.identity(x.shape[1]) if shrink is None else Whitening.fit(x[fit], dim=dim, shrinkage=shrink)
            y = w.apply(x) if shrink is not None else l2n(x)
            database = np.flatnonzero(test | ~dev)
            scores.append(evaluate(y, labels, np.flatnonzero(test), database))
        m = np.mean(scores, axis=0)
        print(f"{name:26} {m[0]:6.3f} {m[1]:6.3f} {m[2]:20.3f}")


if __name__ == "__main__":
    main()
