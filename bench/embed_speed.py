"""Embedding speed: end-to-end images/s against decode-only images/s for the same files.

Decode-only is what the app could never beat: reading each file and bringing it to the size the
model needs (reduced-size JPEG decode, EXIF orientation, resize), on every core. The target on 2 CPU cores is end-to-end >= 0.7 x decode-only.

    python bench/embed_speed.py [--set photos|camera|both] [--device cpu|cuda] [--views 0|3]

Prints a table; on CUDA also tries decoding JPEGs on the GPU (torchvision.io.decode_jpeg).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch

from mgdesk.core.embedding import Embedder
from mgdesk.core.embedding.embedder import to_array
from mgdesk.core.imaging import ImageLoadError, is_supported, load_image

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def file_sets(which: str) -> dict[str, list[Path]]:
    sets = {}
    if which in ("photos", "both"):
        sets["photos (214, 480-1024 px)"] = sorted((DATA / "photos").glob("*.jpg"))
    if which in ("camera", "both"):
        camera = sorted(
            p for p in (DATA / "formats" / "camera" / "jpg").rglob("*")
            if p.is_file() and is_supported(p) and "invalid" not in p.parts and "tests" not in p.parts
        )
        sets[f"camera JPEGs ({len(camera)}, full resolution)"] = camera
    return sets


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def decode_only(paths: list[Path], side: int, workers: int) -> tuple[float, int]:
    def one(path: Path) -> bool:
        try:
            to_array(load_image(path, max_side=side).image, side)
            return True
        except ImageLoadError:
            return False

    t0 = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        ok = sum(pool.map(one, paths))
    return time.perf_counter() - t0, ok


def end_to_end(embedder: Embedder, paths: list[Path]) -> tuple[float, int]:
    t0 = time.perf_counter()
    ok = sum(r.ok for r in embedder.embed_paths(paths))
    return time.perf_counter() - t0, ok


def gpu_decode(paths: list[Path]) -> float | None:
    """JPEG decode on the GPU with nvjpeg (torchvision), for comparison only."""
    if not torch.cuda.is_available():
        return None
    from torchvision.io import decode_jpeg, read_file

    data = [read_file(str(p)) for p in paths if p.suffix.lower() in (".jpg", ".jpeg")]
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for start in range(0, len(data), 32):
        decode_jpeg(data[start : start + 32], device="cuda")
    torch.cuda.synchronize()
    return len(data) / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", default="both", choices=["photos", "camera", "both"])
    ap.add_argument("--device", default=None)
    ap.add_argument("--views", type=int, default=None, help="rotated views per photo (default: card)")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()

    angles = None if args.views is None else (90, 180, 270)[: args.views]
    embedder = Embedder("lite0", device=args.device, view_angles=angles)
    print(f"device {embedder.device}, torch threads {torch.get_num_threads()}, cores {os.cpu_count()}, "
          f"decoder threads {embedder.workers}, side {embedder.side}, views {embedder.view_angles}")
    end_to_end(embedder, sorted((DATA / "photos").glob("*.jpg"))[:8])  # warm-up
    print(f"{'set':38} {'decode img/s':>12} {'end-to-end img/s':>16} {'ratio':>6} {'peak RSS MB':>11}")
    for name, paths in file_sets(args.set).items():
        paths = paths * args.repeat
        t_dec, n_dec = decode_only(paths, embedder.side, os.cpu_count() or 1)
        t_e2e, n_e2e = end_to_end(embedder, paths)
        dec, e2e = len(paths) / t_dec, len(paths) / t_e2e
        print(f"{name:38} {dec:12.1f} {e2e:16.1f} {e2e / dec:6.2f} {peak_rss_mb():11.0f}")
        gpu = gpu_decode(paths)
        if gpu is not None:
            print(f"{'  GPU JPEG decode (nvjpeg, full size)':38} {gpu:12.1f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
