"""Accuracy bench: mgdesk (shipped defaults) and the peer tools on nd-dev and nd-scenes, one table.

    python bench/accuracy.py [--data DIR] [--json FILE] [--no-mgdesk] [--no-peers]
                             [--peers phash,czkawka-5,...] [--direct] [--threads N]

nd-dev scores copy finding (pair precision / recall / F1 over copy_group, recall per transform);
nd-scenes scores the opposite mistake: the share of same-scene pairs (other shots, never copies)
that a tool puts in one group. For mgdesk's `similar` level that share is what it *should* find.
Nothing here tunes mgdesk: it runs as shipped, through the Library facade the CLI and GUI use.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.peers import PeerUnavailable, select  # noqa: E402
from mgdesk.eval.pairs import (  # noqa: E402
    Truth,
    load_truth,
    pair_scores,
    keeper_score,
    pairs_of,
    recall_per_transform,
    same_scene_share,
)

log = logging.getLogger("bench.accuracy")

DATASETS = ("nd-dev", "nd-scenes")
LEVELS = ("exact", "copy", "similar")


@dataclass
class ToolResult:
    """One row of the table: a tool (or an mgdesk level) and what it grouped in each data set."""

    name: str
    groups: dict[str, list[list[str]]] = field(default_factory=dict)
    keepers: dict[str, list[str]] = field(default_factory=dict)  # the name each group keeps
    seconds: dict[str, float] = field(default_factory=dict)
    note: str = ""
    missing: str | None = None  # why it did not run ("not installed", ...)


# --- mgdesk ---------------------------------------------------------------------------------


def _member_path(member) -> str:
    return str(getattr(member, "path", member))


def run_mgdesk_library(folders: dict[str, Path], workdir: Path) -> list[ToolResult]:
    """Scan each data set into its own fresh library (as a user with that folder would) and read
    the groups at every level. Time = scan (shared by the levels) + that level's grouping."""
    from mgdesk.core.service import Library

    rows = {level: ToolResult(f"mgdesk {level}") for level in LEVELS}
    for dataset, folder in folders.items():
        library = Library(db_path=workdir / f"{dataset}.sqlite")
        start = time.perf_counter()
        report = library.scan([folder])
        scan_s = time.perf_counter() - start
        log.info("mgdesk scanned %s in %.1f s: %s new, %s embedded, %s errors", dataset, scan_s,
                 getattr(report, "new", "?"), getattr(report, "embedded", "?"),
                 getattr(report, "errors", "?"))
        for level in LEVELS:
            start = time.perf_counter()
            groups = library.groups(level=level)
            group_s = time.perf_counter() - start
            log.info("mgdesk %s on %s: %d groups in %.1f s", level, dataset, len(groups), group_s)
            rows[level].groups[dataset] = [
                [Path(_member_path(m)).name for m in g.members] for g in groups
            ]
            rows[level].keepers[dataset] = [Path(g.keeper.path).name for g in groups]
            rows[level].seconds[dataset] = scan_s + group_s
        close = getattr(library, "close", None)
        if callable(close):
            close()
    for row in rows.values():
        row.note = "time = scan + grouping at that level"
    return list(rows.values())


def run_mgdesk_direct(folders: dict[str, Path]) -> list[ToolResult]:
    """Without the facade: content hashes, Embedder and grouping.find_groups at their defaults.

    An approximation of what the Library does, for use without service.py: whitening is the
    card's when it ships one, else none (plain L2), as the Library does below WHITEN_REFIT_MIN
    photos; no verdict cache, no store.
    """
    import numpy as np

    from mgdesk.core.embedding import Embedder, l2n
    from mgdesk.core.grouping import find_groups
    from mgdesk.core.scanner import hash_file, supported_suffixes

    embedder = Embedder()
    suffixes = supported_suffixes()
    rows = {level: ToolResult(f"mgdesk {level}", note="--direct; time = embed + grouping")
            for level in LEVELS}
    for dataset, folder in folders.items():
        paths = sorted(str(p) for p in folder.iterdir() if p.suffix.lower() in suffixes)
        start = time.perf_counter()
        by_hash: dict[str, list[str]] = {}
        for path in paths:
            by_hash.setdefault(hash_file(path)[1], []).append(Path(path).name)
        exact_s = time.perf_counter() - start
        rows["exact"].groups[dataset] = [g for g in by_hash.values() if len(g) > 1]
        rows["exact"].seconds[dataset] = exact_s

        start = time.perf_counter()
        results = [r for r in embedder.embed_paths(paths) if r.descriptor is not None]
        embed_s = time.perf_counter() - start
        raw = np.stack([r.descriptor for r in results])
        whitening = _shipped_whitening(embedder.card.whitening)
        whiten = whitening.apply if whitening is not None else l2n
        ids = np.arange(len(results), dtype=np.int64)
        vectors = whiten(raw).astype(np.float32)
        views = {i: whiten(r.views).astype(np.float32) for i, r in enumerate(results)
                 if r.views is not None and len(r.views)}
        image_paths = {i: r.path for i, r in enumerate(results)}
        for level in ("copy", "similar"):
            start = time.perf_counter()
            groups = find_groups(ids, vectors, level, views=views, image_paths=image_paths)
            group_s = time.perf_counter() - start
            rows[level].groups[dataset] = [
                [Path(image_paths[int(m)]).name for m in g.members] for g in groups
            ]
            rows[level].seconds[dataset] = embed_s + group_s
    return list(rows.values())


def _shipped_whitening(name: str | None):
    if not name:
        return None
    from mgdesk.core.embedding import Whitening
    from mgdesk.paths import MODEL_CARDS, user_models_dir

    for folder in (Path(MODEL_CARDS), user_models_dir()):
        if (folder / name).is_file():
            return Whitening.load(folder / name)
    raise FileNotFoundError(f"whitening {name} named by the model card not found")


# --- figures --------------------------------------------------------------------------------


def figures(row: ToolResult, truths: dict[str, Truth]) -> dict:
    out: dict = {"name": row.name, "seconds": row.seconds, "note": row.note, "groups": row.groups}
    if row.missing:
        out["missing"] = row.missing
        return out
    if "nd-dev" in row.groups:
        dev = truths["nd-dev"]
        s = pair_scores(row.groups["nd-dev"], dev)
        out["nd-dev"] = {
            "precision": s.precision,
            "recall": s.recall,
            "f1": s.f1,
            "true_pairs": s.true_positives,
            "false_pairs": s.false_positives,
            "missed_pairs": s.false_negatives,
            "groups": len(row.groups["nd-dev"]),
            "recall_per_transform": {
                t: {"found": r.found, "total": r.total, "recall": r.recall}
                for t, r in recall_per_transform(row.groups["nd-dev"], dev).items()
            },
        }
        if row.keepers.get("nd-dev"):
            k = keeper_score(row.groups["nd-dev"], row.keepers["nd-dev"], dev)
            out["nd-dev"]["keeper"] = {"kept_original": k.kept_original, "groups": k.groups,
                                       "instead": dict(k.instead), "text": k.describe()}
    if "nd-scenes" in row.groups:
        scenes = truths["nd-scenes"]
        share = same_scene_share(row.groups["nd-scenes"], scenes)
        out["nd-scenes"] = {
            "same_scene_grouped": share.grouped,
            "same_scene_pairs": share.total,
            "share": share.share,
            "cross_scene_pairs": share.cross_scene,
            # every pair grouped in nd-scenes is a false copy, same scene or not
            "pairs_grouped": len(pairs_of(row.groups["nd-scenes"], scenes.files)),
            "groups": len(row.groups["nd-scenes"]),
        }
    return out


def _pct(x: float) -> str:
    return f"{100 * x:5.1f} %"


def print_table(results: list[dict]) -> None:
    head = (
        f"{'tool':34} {'precision':>9} {'recall':>7} {'F1':>6}   {'same-scene grouped':>18}"
        f" {'cross':>5}   {'time dev':>8} {'scenes':>7}"
    )
    print()
    print("nd-dev: pair scores over copy_group; nd-scenes: share of the same-scene pairs put in one")
    print("group (for a copy finder these are false copies; for mgdesk similar, shots found);")
    print("cross: nd-scenes pairs grouped across two different scenes (wrong at every level)")
    print(head)
    print("-" * len(head))
    for r in results:
        if r.get("missing"):
            print(f"{r['name']:34} {r['missing']}")
            continue
        d = r.get("nd-dev")
        s = r.get("nd-scenes")
        dev = f"{d['precision']:9.3f} {d['recall']:7.3f} {d['f1']:6.3f}" if d else f"{'':25}"
        sc = f"{_pct(s['share'])} ({s['same_scene_grouped']:3d}/{s['same_scene_pairs']})" if s else ""
        cross = f"{s['cross_scene_pairs']:5d}" if s else ""
        t_dev = f"{r['seconds'].get('nd-dev', float('nan')):7.1f}s"
        t_sc = f"{r['seconds'].get('nd-scenes', float('nan')):6.1f}s"
        print(f"{r['name']:34} {dev}   {sc:>18} {cross:>5}   {t_dev:>8} {t_sc:>7}  {r.get('note', '')}")

    ran = [r for r in results if "nd-dev" in r]
    if not ran:
        return
    kept = [r for r in ran if "keeper" in r["nd-dev"]]
    if kept:
        print()
        print("keep-best on nd-dev (the member suggested to keep, in groups that hold the original;")
        print("nd-dev's png copies hold the lossless source, exif_rotated the original's pixels)")
        for r in kept:
            print(f"  {r['name']:16} {r['nd-dev']['keeper']['text']}")
    transforms = sorted({t for r in ran for t in r["nd-dev"]["recall_per_transform"]})
    print()
    print("nd-dev recall per transform (original <-> copy pairs found / all)")
    short = [_short(r["name"]) for r in ran]
    width = max(8, *(len(s) for s in short))
    print(f"{'transform':14} {'pairs':>5} " + " ".join(f"{s:>{width}}" for s in short))
    for t in transforms:
        total = next(r["nd-dev"]["recall_per_transform"][t]["total"] for r in ran)
        cells = [f"{r['nd-dev']['recall_per_transform'][t]['recall']:>{width}.2f}" for r in ran]
        print(f"{t:14} {total:5d} " + " ".join(cells))


def _short(name: str) -> str:
    return (
        name.replace("imagehash ", "")
        .replace(" (distance <= 10)", "")
        .replace("czkawka (similarity ", "czk")
        .replace("findimagedupes (90 %)", "fid90")
        .replace(")", "")
    )


def _finite(value):
    """NaN (a metric with nothing to measure) as null, so the file is strict JSON."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


# --- main -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data",
                    help="folder holding nd-dev/ and nd-scenes/ (default: ../shared/data)")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    ap.add_argument("--no-mgdesk", action="store_true", help="peers only")
    ap.add_argument("--no-peers", action="store_true", help="mgdesk only")
    ap.add_argument("--peers", help="comma-separated subset: phash,dhash,czkawka-5,czkawka-15,"
                    "findimagedupes")
    ap.add_argument("--direct", action="store_true",
                    help="run mgdesk through Embedder + grouping.find_groups, not the Library")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")

    folders: dict[str, Path] = {}
    truths: dict[str, Truth] = {}
    for name in DATASETS:
        base = args.data / name
        if not (base / "truth.csv").is_file():
            print(f"error: {base / 'truth.csv'} not found (use --data)", file=sys.stderr)
            return 2
        folders[name] = base / "images"
        truths[name] = load_truth(base / "truth.csv")

    rows: list[ToolResult] = []
    if not args.no_mgdesk:
        try:
            import torch

            torch.set_num_threads(max(1, args.threads))
        except ImportError:
            pass
        try:
            if args.direct:
                rows += run_mgdesk_direct(folders)
            else:
                with tempfile.TemporaryDirectory(prefix="mgdesk-bench-") as tmp:
                    rows += run_mgdesk_library(folders, Path(tmp))
        except ImportError as exc:
            log.error("mgdesk pipeline not available: %s", exc)
            rows += [ToolResult(f"mgdesk {lv}", missing=f"not available ({exc})") for lv in LEVELS]

    if not args.no_peers:
        for peer in select(args.peers.split(",") if args.peers else None):
            row = ToolResult(peer.name)
            try:
                for dataset, folder in folders.items():
                    run = peer.run(folder)
                    row.name = run.name
                    row.groups[dataset] = run.groups
                    row.seconds[dataset] = run.seconds
            except PeerUnavailable as exc:
                log.info("%s", exc)
                row.missing = "not installed"
            rows.append(row)

    results = [figures(row, truths) for row in rows]
    print_table(results)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {"data": str(args.data), "results": _finite(results)}
        args.json.write_text(json.dumps(payload, indent=2, allow_nan=False))
        print(f"\nfigures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
