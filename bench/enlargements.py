"""Where mgdesk.core.enlarged's threshold comes from: the detail a photo has beyond a smaller
size, for real photos and for enlargements of them.

    python bench/enlargements.py [--data DIR] [--limit N]

For each photo in photos/ (the 214 nd-dev sources) and formats/camera (camera JPEGs): the
measure at ratios 1.5, 2 and 3 of the photo itself (a photo with a smaller copy beside it), and
of the photo enlarged by that ratio with bicubic, Lanczos and bilinear resampling, saved as
JPEG at quality 90 and 75 (an enlargement made from it). Prints percentiles of each, and how
many fall under MAX_DETAIL: enlargements caught, and photos that would be taken for one if
they were written after their smaller copy. Figures only: nothing is tuned here.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from mgdesk.core.enlarged import MAX_DETAIL, MIN_RATIO, detail_beyond_of  # noqa: E402

RATIOS = (1.5, 2.0, 3.0)
RESAMPLERS = {"bicubic": Image.Resampling.BICUBIC, "lanczos": Image.Resampling.LANCZOS,
              "bilinear": Image.Resampling.BILINEAR}
QUALITIES = (90, 75)
#: enlargements are made from photos of at most this long side (as a phone shares them)
SOURCE_SIDE = 1200


def _gray(im: Image.Image) -> np.ndarray:
    return np.asarray(im.convert("L"), dtype=np.float32)


def _jpeg(im: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def photos(data: Path, limit: int | None) -> dict[str, list[Path]]:
    camera = [p for p in sorted((data / "formats" / "camera").rglob("*.jpg"))
              if "invalid" not in p.parts and "tests" not in p.parts]
    sets = {"photos": sorted((data / "photos").iterdir()), "camera": camera}
    return {name: files[:limit] for name, files in sets.items()}


def measure(files: list[Path]) -> dict[str, dict[float, list[float]]]:
    out: dict[str, dict[float, list[float]]] = {}
    for path in files:
        try:
            with Image.open(path) as raw:
                im = ImageOps.exif_transpose(raw).convert("RGB")
        except Exception:  # noqa: BLE001 - the camera set holds a few broken files by design
            continue
        if min(im.size) < 200:
            continue
        source = im if max(im.size) <= SOURCE_SIDE else im.resize(
            (round(im.width * SOURCE_SIDE / max(im.size)), round(im.height * SOURCE_SIDE / max(im.size))),
            Image.Resampling.LANCZOS)
        for ratio in RATIOS:
            q = detail_beyond_of(_gray(im), ratio)
            if q is not None:
                out.setdefault("photo", {}).setdefault(ratio, []).append(q)
            for name, method in RESAMPLERS.items():
                big = source.resize((round(source.width * ratio), round(source.height * ratio)), method)
                for quality in QUALITIES:
                    q = detail_beyond_of(_gray(_jpeg(big, quality)), ratio)
                    if q is not None:
                        out.setdefault(f"{name} q{quality}", {}).setdefault(ratio, []).append(q)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--limit", type=int, help="photos per set (default: all)")
    args = ap.parse_args(argv)
    print(f"MAX_DETAIL = {MAX_DETAIL}, tested from a size ratio of {MIN_RATIO}")
    for set_name, files in photos(args.data, args.limit).items():
        figures = measure(files)
        print(f"\n{set_name} ({len(files)} files): detail beyond the smaller size, "
              "min / 5th pct / median / 95th pct / max, and share under MAX_DETAIL")
        for kind, per_ratio in figures.items():
            for ratio, values in per_ratio.items():
                v = np.array(values)
                p = np.percentile(v, [5, 50, 95])
                print(f"  {kind:14} x{ratio:<4} n={len(v):3}  {v.min():.3f} / {p[0]:.3f} / {p[1]:.3f} / "
                      f"{p[2]:.3f} / {v.max():.3f}   under: {np.mean(v < MAX_DETAIL):6.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
