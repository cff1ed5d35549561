"""Grouping speed: the copy and similar levels on one core against every core, same library.

    python bench/grouping_speed.py [--data DIR] [--sets nd-dev,nd-scenes] [--levels copy,similar]

A first grouping is mostly pair verification (local features matched, fitted and compared). The
copy pass and the similar level's first merges verify the pairs they come to next on every core
(grouping._Context._verifying_ahead); this prints, per set and level, the time of a grouping
with one core and with all of them, the ratio, how many pairs each verified, and whether the
groups (members, keepers, scores) are the same, which they must be.

Each set is scanned once into a private MGDESK_HOME (nothing of the user's is read or written).
A first grouping stores every photo's local features; then, per level and core count, the stored
verdicts are dropped and the grouping is timed: verification with features on disk, as a
rescan-and-regroup or a second level finds them. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def _drop_verdicts(db: Path) -> None:
    from mgdesk.core.verify import VERIFIER_VERSION
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM verdicts WHERE version = ?", (VERIFIER_VERSION,))


def _verdicts(db: Path) -> int:
    from mgdesk.core.verify import VERIFIER_VERSION
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT count(*) FROM verdicts WHERE version = ?", (VERIFIER_VERSION,)).fetchone()[0]


def _timed_groups(db: Path, level: str, cores: int) -> tuple[float, list, int]:
    """(seconds, groups as comparable tuples, pairs verified) of one grouping with `cores` cores."""
    from mgdesk.core import grouping
    from mgdesk.core.service import Library
    _drop_verdicts(db)
    real = grouping._cores
    grouping._cores = (lambda: cores) if cores else real
    try:
        library = Library(db_path=db)
        start = time.perf_counter()
        groups = library.groups(level=level)
        seconds = time.perf_counter() - start
        library.close()
    finally:
        grouping._cores = real
    shape = [tuple((m.path, m.keep, round(m.score, 6)) for m in g.members) for g in groups]
    return seconds, shape, _verdicts(db)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--sets", default="nd-dev,nd-scenes")
    ap.add_argument("--levels", default="copy,similar")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="mgdesk-grouping-speed-"))
    os.environ["MGDESK_HOME"] = str(work / "home")  # before mgdesk reads it
    from mgdesk.core import grouping
    from mgdesk.core.service import Library
    all_cores = grouping._cores()
    print(f"cores: {all_cores}; times are one grouping with the local features stored, verdicts not")
    print(f"{'set':10} {'level':8} {'1 core':>9} {f'{all_cores} cores':>9} {'ratio':>6} "
          f"{'pairs 1':>8} {'pairs N':>8}  same groups")
    try:
        for name in args.sets.split(","):
            folder = args.data / name / "images"
            db = work / f"{name}.sqlite"
            library = Library(db_path=db)
            library.scan([folder])
            library.groups(level="similar")  # stores every photo's local features
            library.close()
            for level in args.levels.split(","):
                one_s, one, one_n = _timed_groups(db, level, 1)
                all_s, every, all_n = _timed_groups(db, level, 0)
                print(f"{name:10} {level:8} {one_s:8.1f}s {all_s:8.1f}s {one_s / all_s:5.2f}x "
                      f"{one_n:8d} {all_n:8d}  {'yes' if one == every else 'NO'}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
