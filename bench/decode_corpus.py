"""Decode time over the malformed corpus and the format set: a decoder that hangs or blows up on
one odd file shows here as the slowest file, not as a timed assertion in the tests.

    python bench/decode_corpus.py [--data DIR] [--side N] [--slowest N]

Prints, per folder: files, outcomes (decoded or the typed failure), total seconds and the slowest
files with their times. One thread, the loader as the scanner calls it (load_image at the
embedding size).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from mgdesk.core.imaging import ImageLoadError, load_image  # noqa: E402
from mgdesk.core.quiet_decoders import silence_libtiff  # noqa: E402

DATA = REPO.parent / "shared" / "data"


def run(folder: Path, side: int) -> tuple[Counter, float, list[tuple[float, str]]]:
    outcomes: Counter = Counter()
    times: list[tuple[float, str]] = []
    start = time.perf_counter()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        t = time.perf_counter()
        try:
            load_image(path, side)
            outcomes["ok"] += 1
        except ImageLoadError as err:
            outcomes[err.reason.value] += 1
        times.append((time.perf_counter() - t, str(path.relative_to(folder))))
    return outcomes, time.perf_counter() - start, sorted(times, reverse=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--side", type=int, default=256)
    ap.add_argument("--slowest", type=int, default=3)
    args = ap.parse_args()
    silence_libtiff()
    warnings.simplefilter("ignore")  # Pillow's notes on broken tags: the outcome says enough
    for name in ("malformed", "formats"):
        outcomes, total, times = run(args.data / name, args.side)
        counts = ", ".join(f"{k} {v}" for k, v in outcomes.most_common())
        print(f"{name}: {sum(outcomes.values())} files in {total:.1f} s ({counts})")
        for seconds, path in times[: args.slowest]:
            print(f"  {seconds:6.2f} s  {path}")


if __name__ == "__main__":
    main()
