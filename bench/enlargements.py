"""Where mgdesk.core.enlarged's threshold comes from: the detail a photo has beyond a smaller
size, for real photos and for enlargements of them.

    python bench/enlargements.py [--data DIR] [--limit N]

For each photo in photos/ (the 214 nd-dev sources) and formats/camera (camera JPEGs): the
measure at ratios 1.5, 2 and 3 of the photo itself (a photo with a smaller copy beside it), and
of the photo enlarged by that ratio with bicubic, Lanczos and bilinear resampling, saved as
JPEG at quality 90 and 75 (an enlargement made from it). Prints percentiles of each, and how
many fall under MAX_DETAIL: enlargements caught, and photos that would be taken for one if
they were written after their smaller copy. Figures only: nothing is tuned here.

`--predict N` measures unpredicted_detail instead (the test below OCTAVE_RATIO and for framed
copies), on the first N photos of each set: each photo over copies of it at 0.95x, 0.85x, 0.7x
and 0.5x (Lanczos, quality 85; a photo beside its smaller copies), and Lanczos enlargements of
it by 1/0.95, 1/0.85, 1/0.7 and 2x (quality 85) over the photo, with the share under
MAX_UNPREDICTED.
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

from mgdesk.core.enlarged import (MAX_DETAIL, MAX_UNPREDICTED, OCTAVE_RATIO, detail_beyond_of,  # noqa: E402
                                  unpredicted_detail)

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


def predictions(files: list[Path], out: Path) -> dict[str, dict[float, list[float]]]:
    """unpredicted_detail of each photo over its smaller copies, and of its enlargements over it."""
    figures: dict[str, dict[float, list[float]]] = {"photo over a smaller copy": {}, "enlargement over it": {}}
    for k, path in enumerate(files):
        with Image.open(path) as im:
            photo = ImageOps.exif_transpose(im).convert("RGB")
        source = out / f"{k}.png"
        photo.save(source)
        for s in (0.95, 0.85, 0.7, 0.5):
            small, big = out / f"{k}_small.jpg", out / f"{k}_big.jpg"
            photo.resize((round(photo.width * s), round(photo.height * s)), Image.Resampling.LANCZOS).save(small, quality=85)
            photo.resize((round(photo.width / s), round(photo.height / s)), Image.Resampling.LANCZOS).save(big, quality=85)
            for kind, larger, smaller in (("photo over a smaller copy", source, small), ("enlargement over it", big, source)):
                q = unpredicted_detail(larger, smaller)
                if q is not None:
                    figures[kind].setdefault(round(1 / s, 2), []).append(q)
    return figures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--limit", type=int, help="photos per set (default: all)")
    ap.add_argument("--predict", type=int, metavar="N", help="measure unpredicted_detail on N photos per set")
    args = ap.parse_args(argv)
    if args.predict:
        import tempfile
        print(f"MAX_UNPREDICTED = {MAX_UNPREDICTED}: unexplained share of the larger one's fine detail, "
              "min / median / max, and share under it")
        with tempfile.TemporaryDirectory() as tmp:
            for set_name, files in photos(args.data, args.predict).items():
                print(f"\n{set_name} ({len(files)} files)")
                for kind, per_ratio in predictions(files, Path(tmp)).items():
                    for ratio, values in sorted(per_ratio.items()):
                        v = np.array(values)
                        print(f"  {kind:26} x{ratio:<5} n={len(v):3}  {v.min():.3f} / {np.median(v):.3f} / "
                              f"{v.max():.3f}   under: {np.mean(v < MAX_UNPREDICTED):6.1%}")
        return 0
    print(f"MAX_DETAIL = {MAX_DETAIL}, used from a size ratio of {OCTAVE_RATIO}")
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
