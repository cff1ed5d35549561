"""Copy-verification figures on the development sets, at the shipped VerifyParams.

    python bench/verify_dev.py [--data DIR] [--easy N] [--threads N] [--json FILE]

Pairs: positives = every pair inside a copy_group of nd-dev (original<->edit, listed per
transform, and edit<->edit); hard negatives = every pair inside a scene_group of nd-scenes (other
shots: must not be called copies); easy negatives = N random pairs of different photos. Prints
recall per transform, the false-copy share per nd-scenes source, ms per pair (features are
extracted once per photo and timed apart), and the same figures on two halves of the groups
(even / odd group numbers) to show how much the thresholds depend on the photos they were
chosen on.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import random
import sys
import time
import zlib
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import cv2  # noqa: E402

from mgdesk.core.verify import VERIFIER_VERSION, PairVerifier  # noqa: E402


def read_truth(root: Path) -> list[dict[str, str]]:
    with open(root / "truth.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def build_pairs(data: Path, n_easy: int, seed: int = 0) -> list[dict]:
    dev, scenes = read_truth(data / "nd-dev"), read_truth(data / "nd-scenes")
    pairs: list[dict] = []
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in dev:
        groups[r["copy_group"]].append(r)
    for g, rows in sorted(groups.items()):
        for a, b in itertools.combinations(rows, 2):
            if a["transform"] == "original" or b["transform"] == "original":
                kind = b["transform"] if a["transform"] == "original" else a["transform"]
            else:
                kind = "edit<->edit"
            pairs.append(dict(set="pos", group=g, kind=kind,
                              a=f"nd-dev/images/{a['file']}", b=f"nd-dev/images/{b['file']}"))
    sgroups: dict[str, list[dict]] = defaultdict(list)
    for r in scenes:
        sgroups[r["scene_group"]].append(r)
    for g, rows in sorted(sgroups.items()):
        for a, b in itertools.combinations(rows, 2):
            pairs.append(dict(set="hard", group=g, kind=g.split("_")[0],
                              a=f"nd-scenes/images/{a['file']}", b=f"nd-scenes/images/{b['file']}"))
    everyone = [(f"nd-dev/images/{r['file']}", "d" + r["copy_group"]) for r in dev] + \
               [(f"nd-scenes/images/{r['file']}", "s" + r["scene_group"]) for r in scenes]
    rnd = random.Random(seed)
    easy = 0
    while easy < n_easy:
        (a, ga), (b, gb) = rnd.sample(everyone, 2)
        if ga != gb:
            pairs.append(dict(set="easy", group=f"e{easy}", kind="different photos", a=a, b=b))
            easy += 1
    return pairs


def half_of(group: str) -> int:
    digits = "".join(ch for ch in group if ch.isdigit())
    # a stable hash: str hash() changes with every process, and so would the halves
    return int(digits) % 2 if digits else zlib.crc32(group.encode()) % 2


def summarise(rows: list[dict]) -> dict:
    out: dict = {}
    pos = [r for r in rows if r["set"] == "pos"]
    hard = [r for r in rows if r["set"] == "hard"]
    easy = [r for r in rows if r["set"] == "easy"]
    tp = sum(r["is_copy"] for r in pos)
    fp = sum(r["is_copy"] for r in hard + easy)
    out["pos_recall"] = tp / max(len(pos), 1)
    out["orig_edit_recall"] = (sum(r["is_copy"] for r in pos if r["kind"] != "edit<->edit")
                               / max(sum(r["kind"] != "edit<->edit" for r in pos), 1))
    out["hard_false_copy"] = sum(r["is_copy"] for r in hard) / max(len(hard), 1)
    out["easy_false_copy"] = sum(r["is_copy"] for r in easy) / max(len(easy), 1)
    out["precision_pos_vs_all_neg"] = tp / max(tp + fp, 1)
    out["n"] = dict(pos=len(pos), hard=len(hard), easy=len(easy))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO / ".." / "shared" / "data")
    ap.add_argument("--easy", type=int, default=600, help="random different-photo pairs")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    cv2.setNumThreads(args.threads)
    try:
        import threadpoolctl  # optional: keep numpy's BLAS to the same thread budget
        threadpoolctl.threadpool_limits(args.threads)
    except ImportError:
        pass

    pairs = build_pairs(args.data, args.easy)
    verifier = PairVerifier()
    paths = sorted({p["a"] for p in pairs} | {p["b"] for p in pairs})
    feats = {}
    t0 = time.perf_counter()
    for p in paths:
        feats[p] = verifier.features(args.data / p)
    t_feat = (time.perf_counter() - t0) / max(len(paths), 1)
    cached = [len(f.to_bytes()) for f in feats.values()]

    rows = []
    t_pairs = []
    for p in pairs:
        t = time.perf_counter()
        v = verifier.verify(feats[p["a"]], feats[p["b"]])
        t_pairs.append(time.perf_counter() - t)
        rows.append({**p, "is_copy": v.is_copy, "score": v.score, "inliers": v.inliers,
                     "residual": v.residual, "reason": v.reason})

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    slow = sorted(t_pairs)[int(0.95 * (len(t_pairs) - 1))]
    pos_t = [t for t, p in zip(t_pairs, pairs) if p["set"] == "pos"]
    print(f"verifier {VERIFIER_VERSION}; {len(paths)} photos, {len(pairs)} pairs; "
          f"features {1000 * t_feat:.0f} ms/photo, verify {1000 * sum(t_pairs) / len(t_pairs):.1f} "
          f"ms/pair (median {1000 * sorted(t_pairs)[len(t_pairs) // 2]:.1f}), {args.threads} thread(s); "
          f"serialised features {sum(cached) / len(cached) / 1024:.0f} KiB/photo")
    print(f"  pair time: 95th percentile {1000 * slow:.1f} ms, copy pairs (full checks) "
          f"{1000 * sum(pos_t) / max(len(pos_t), 1):.1f} ms on average; load average "
          f"{load:.2f} when done (the figures are only comparable on a quiet machine)")
    s = summarise(rows)
    print(f"\npositives (nd-dev copy pairs): recall {s['pos_recall']:.3f} over all pairs, "
          f"{s['orig_edit_recall']:.3f} original<->edit")
    by_kind: dict[str, list[bool]] = defaultdict(list)
    for r in rows:
        if r["set"] == "pos":
            by_kind[r["kind"]].append(r["is_copy"])
    for kind, v in sorted(by_kind.items()):
        print(f"  {kind:14s} {sum(v) / len(v):.3f}  ({sum(v)}/{len(v)})")
    print(f"\nhard negatives (nd-scenes same-scene pairs) called copies: {s['hard_false_copy']:.3%}")
    by_src: dict[str, list[bool]] = defaultdict(list)
    for r in rows:
        if r["set"] == "hard":
            by_src[r["kind"]].append(r["is_copy"])
    for kind, v in sorted(by_src.items()):
        flag = "  <-" if any(v) else ""
        print(f"  {kind:10s} {sum(v)}/{len(v)}{flag}")
    for r in rows:
        if r["set"] == "hard" and r["is_copy"]:
            print(f"    false copy: {r['a']} ~ {r['b']}: {r['reason']}")
    print(f"\neasy negatives called copies: {s['easy_false_copy']:.3%} of {s['n']['easy']}")
    print(f"pair precision (positives vs all negatives listed): {s['precision_pos_vs_all_neg']:.4f}")
    halves = {}
    for h in (0, 1):
        part = summarise([r for r in rows if half_of(r["group"]) == h])
        halves[h] = part
        print(f"half {h}: recall {part['pos_recall']:.3f}, same-scene false copies "
              f"{part['hard_false_copy']:.2%}, easy false copies {part['easy_false_copy']:.2%}")
    misses = [r for r in rows if r["set"] == "pos" and not r["is_copy"]]
    print(f"\n{len(misses)} missed copy pairs; reasons:")
    reasons: dict[str, int] = defaultdict(int)
    for r in misses:
        reasons[r["reason"].split("(")[0].strip()] += 1
    for reason, n in sorted(reasons.items(), key=lambda t: -t[1]):
        print(f"  {n:4d}  {reason}")
    if args.json:
        args.json.write_text(json.dumps({"summary": s, "halves": halves, "by_transform":
                                         {k: sum(v) / len(v) for k, v in by_kind.items()},
                                         "ms_per_pair": 1000 * sum(t_pairs) / len(t_pairs),
                                         "ms_features": 1000 * t_feat}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
