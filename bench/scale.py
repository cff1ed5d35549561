"""Scale benchmark: index build, grouping, search latency and peak RAM on synthetic vectors,
plus an unchanged re-scan of 10,000 files. Prints figures; asserts nothing.

    python bench/scale.py                          # 100k and 1M vectors (dim 1280) + 10k-file rescan
    python bench/scale.py --sizes 100000 --dim 1280 --threads 2
    python bench/scale.py --skip-vectors           # only the rescan timing

Each vector size runs in its own subprocess so its peak RSS is its own. Vectors are clustered
(random centres + noise) with 1 % planted near-duplicates (a copy + small noise), L2-normalised,
the way whitened descriptors of a photo library look to the index. Grouping runs at the 'similar'
level (cosine only, no image verifier: that is the candidate stage whose cost grows with n);
above --group-max it is skipped and says so.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def synthetic(n: int, dim: int, seed: int = 0, dup_share: float = 0.01) -> tuple[np.ndarray, np.ndarray, int]:
    """(ids, unit vectors, number of planted pairs), generated in chunks to bound temporaries."""
    rng = np.random.default_rng(seed)
    n_clusters = max(10, n // 100)
    centres = rng.standard_normal((n_clusters, dim), dtype=np.float32)
    vecs = np.empty((n, dim), np.float32)
    chunk = 50_000
    for s in range(0, n, chunk):
        e = min(n, s + chunk)
        c = rng.integers(0, n_clusters, e - s)
        v = centres[c] + 1.5 * rng.standard_normal((e - s, dim), dtype=np.float32)
        vecs[s:e] = v / np.linalg.norm(v, axis=1, keepdims=True)
    n_dup = int(n * dup_share)
    src = rng.choice(n - n_dup, n_dup, replace=False)
    for s in range(0, n_dup, chunk):
        idx = src[s:s + chunk]
        v = vecs[idx] + (0.15 / np.sqrt(dim)) * rng.standard_normal((len(idx), dim), dtype=np.float32)  # cos ~0.99
        vecs[n - n_dup + s:n - n_dup + s + len(idx)] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return np.arange(1, n + 1, dtype=np.int64), vecs, n_dup


def synthetic_sources(n: int, dim: int, n_dup: int, seed: int = 0) -> np.ndarray:
    """Rows the planted copies were made from (replays synthetic()'s random draws)."""
    rng = np.random.default_rng(seed)
    n_clusters = max(10, n // 100)
    rng.standard_normal((n_clusters, dim), dtype=np.float32)
    for s in range(0, n, 50_000):
        e = min(n, s + 50_000)
        rng.integers(0, n_clusters, e - s)
        rng.standard_normal((e - s, dim), dtype=np.float32)
    return rng.choice(n - n_dup, n_dup, replace=False)


def one_size(n: int, dim: int, threads: int, group_max: int, hnsw: bool, ann_threshold: int | None = None) -> dict:
    import faiss
    faiss.omp_set_num_threads(threads)
    from mgdesk.core.index import VectorIndex
    out: dict = {"n": n, "dim": dim, "threads": threads}
    t = time.perf_counter()
    ids, vecs, n_dup = synthetic(n, dim)
    out["generate_s"] = round(time.perf_counter() - t, 2)
    out["planted_pairs"] = n_dup

    kwargs = ({"ann_threshold": ann_threshold} if ann_threshold else {}) if hnsw else {"ann_threshold": 10 ** 12}
    t = time.perf_counter()
    index = VectorIndex.build(ids, vecs, **kwargs)
    out["index"] = "hnsw" if index.is_ann else "flat"
    out["build_s"] = round(time.perf_counter() - t, 2)

    rng = np.random.default_rng(1)
    queries = vecs[rng.choice(n, 50, replace=False)] + (0.3 / np.sqrt(dim)) * rng.standard_normal((50, dim), dtype=np.float32)
    index.search(queries[:1], 20)  # warm-up
    lat = []
    for q in queries:
        t = time.perf_counter()
        index.search(q[None], 20)
        lat.append(time.perf_counter() - t)
    out["search_ms_p50"] = round(1000 * float(np.median(lat)), 2)
    out["search_ms_p95"] = round(1000 * float(np.percentile(lat, 95)), 2)
    # the planted copies through the index: each copy's nearest other vector should be its source
    m = min(n_dup, 200)
    _, found = index.search(vecs[n - m:], 2)
    src = synthetic_sources(n, dim, n_dup)[-m:]
    out["planted_recall@1"] = round(float(np.mean(found[:, 1] == ids[src])), 3)
    out["rss_after_index_mb"] = round(peak_rss_mb())

    if n <= group_max:
        from mgdesk.core.grouping import GroupingConfig, find_groups
        del index
        t = time.perf_counter()
        groups = find_groups(ids, vecs, "similar", config=GroupingConfig(k=10, similar_cosine=0.9))
        out["grouping_s"] = round(time.perf_counter() - t, 2)
        out["groups"] = len(groups)
        # each planted copy should share a group with the vector it was made from
        group_of = {m: gi for gi, g in enumerate(groups) for m in g.members}
        src_all = synthetic_sources(n, dim, n_dup)
        copies = ids[n - n_dup:]
        same = [group_of.get(int(c), -1) == group_of.get(int(ids[s]), -2) for c, s in zip(copies, src_all)]
        out["planted_pairs_grouped"] = round(float(np.mean(same)), 4) if same else None
    else:
        out["grouping_s"] = f"skipped (n > --group-max {group_max})"
    out["peak_rss_mb"] = round(peak_rss_mb())
    return out


class _NullEmbedder:
    """Costs nothing: the rescan figure measures walking, stat and the store, not the network."""
    model_name = "null"
    dim = 8

    def embed_paths(self, paths, progress=None, cancel=None):
        from dataclasses import dataclass

        from mgdesk.core.imaging import ImageInfo

        @dataclass
        class R:
            path: str
            descriptor: np.ndarray
            info: ImageInfo
            views: None = None
            top_classes: tuple = ()
            error: None = None
        for p in paths:
            v = np.frombuffer(p.encode()[-8:].ljust(8, b"_"), np.uint8).astype(np.float32) + 1
            # what the real embedder reports of a photo without EXIF: the header was read
            yield R(p, v / np.linalg.norm(v), ImageInfo(1, 1, "JPEG", None, None, None, 0))


def rescan(n_files: int, root: Path) -> dict:
    from mgdesk.core.scanner import Scanner
    from mgdesk.core.store import Repository
    marker = root / f".complete-{n_files}"
    if not marker.exists():
        shutil.rmtree(root, ignore_errors=True)
        for i in range(n_files):
            d = root / f"album{i // 500:03d}"
            d.mkdir(parents=True, exist_ok=True)
            (d / f"img{i:05d}.jpg").write_bytes(b"\xff\xd8\xff\xe0" + i.to_bytes(4, "little") * 64)
        marker.write_text("ok")
    db_dir = Path(tempfile.mkdtemp(prefix="mgdesk-bench-db-"))
    repo = Repository.open(db_dir / "lib.sqlite")
    sc = Scanner(repo, _NullEmbedder(), batch_size=256)
    t = time.perf_counter()
    first = sc.scan([root])
    first_s = time.perf_counter() - t
    t = time.perf_counter()
    second = sc.scan([root])
    second_s = time.perf_counter() - t
    repo.close()
    shutil.rmtree(db_dir, ignore_errors=True)
    return {"files": n_files, "first_scan_s (hash + null embed + store)": round(first_s, 2),
            "first_new": first.new, "unchanged_rescan_s": round(second_s, 3), "rescan_unchanged": second.unchanged,
            "rescan_files_per_s": round(n_files / second_s)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[100_000, 1_000_000])
    ap.add_argument("--dim", type=int, default=1280)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--group-max", type=int, default=100_000, help="skip grouping above this many vectors")
    ap.add_argument("--hnsw", action="store_true", help="let the index switch to HNSW above its threshold")
    ap.add_argument("--ann-threshold", type=int, default=None, help="with --hnsw: switch to HNSW above this n")
    ap.add_argument("--rescan-files", type=int, default=10_000)
    ap.add_argument("--rescan-root", type=Path, default=Path("/tmp/mgdesk-bench-10k"))
    ap.add_argument("--skip-vectors", action="store_true")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one_size(args.one, args.dim, args.threads, args.group_max, args.hnsw, args.ann_threshold)))
        return 0
    if not args.skip_vectors:
        for n in args.sizes:
            cmd = [sys.executable, __file__, "--one", str(n), "--dim", str(args.dim), "--threads", str(args.threads),
                   "--group-max", str(args.group_max)] + (["--hnsw"] if args.hnsw else []) + (
                ["--ann-threshold", str(args.ann_threshold)] if args.ann_threshold else [])
            proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": str(args.threads)})
            if proc.returncode != 0:
                print(f"n={n}: failed (exit {proc.returncode}): {proc.stderr.strip().splitlines()[-1:]}")
                continue
            res = json.loads(proc.stdout.strip().splitlines()[-1])
            print(f"vectors n={res['n']:,} dim={res['dim']} ({res['index']}, {res['threads']} threads): "
                  f"build {res['build_s']} s, search p50 {res['search_ms_p50']} ms / p95 {res['search_ms_p95']} ms, "
                  f"planted copy found first {res['planted_recall@1']:.1%}, grouping {res['grouping_s']}{' s' if isinstance(res['grouping_s'], float) else ''}"
                  f"{', ' + str(res['groups']) + ' groups' if 'groups' in res else ''}"
                  f"{', planted pairs grouped ' + format(res['planted_pairs_grouped'], '.1%') if res.get('planted_pairs_grouped') is not None else ''}, peak RSS {res['peak_rss_mb']} MB")
            sys.stdout.flush()
    if args.rescan_files:
        r = rescan(args.rescan_files, args.rescan_root)
        print(f"rescan: {r['files']:,} files, first scan {r['first_scan_s (hash + null embed + store)']} s "
              f"(hash + store, null embedder), unchanged rescan {r['unchanged_rescan_s']} s "
              f"({r['rescan_files_per_s']:,} files/s, unchanged={r['rescan_unchanged']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
