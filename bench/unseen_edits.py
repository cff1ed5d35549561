"""Held-out bench: edits that nd-dev does not contain, made from real camera photos it never saw.

    python bench/unseen_edits.py [--data DIR] [--keep DIR] [--no-peers] [--json FILE]
                                 [--mode all|single|both] [--edits unseen|combined|probe]

The shipped thresholds were calibrated on nd-dev's 18 kinds of copies of 214 photos. Here the
originals are the full-resolution camera JPEGs in formats/camera (other cameras, other sizes,
real EXIF) and every copy is an edit nd-dev does not make: a sepia tone, a vignette, sharpening,
sensor-like noise, a stretch to another aspect ratio, a keystone (perspective) correction,
JPEG quality 10, a tiled watermark, local contrast (CLAHE), a 2x upscale, posterising, stickers,
a straightened (rotated and cropped) copy, a "filter" (curves, saturation, warm tint), a 160 px
thumbnail and a heavy off-centre crop. Edited copies carry no EXIF, as most editors and
messengers write them. `--edits combined` makes twelve chains of edits instead, as apps and
people combine them: crop + resize + recompress for a post, a turned photo resized and sent,
mirror + warm colours + crop, grey + thumbnail, a caption at quality 35, a white frame then a
quarter turn, blur + half size, upside down + off-centre crop, contrast + sharpening (an "auto
enhance"), three JPEG re-saves, a letterbox, mirror + small at quality 40. `--edits probe`:
thirteen more (bench/probe_edits.py: lens correction, an Instagram square, portrait blur, a meme,
an HDR look, HEIC, ...), two of which have since had fixes made against them.

It prints, for every edit of a photo in one library and for one edit per library, pair precision / recall / F1 and recall per edit for mgdesk's copy level (shipped
defaults, through the Library as a user runs it) and for the peers in the same run. Different
camera photos are never copies: with the GPS set (one walk, several shots of a street) that is
also a check against calling other shots copies. For mgdesk it also prints how often keep-best
suggests keeping the original (the camera file) rather than one of its edits. Nothing here tunes
anything; figures only.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.accuracy import run_mgdesk_library  # noqa: E402
from bench.peers import PeerUnavailable, select  # noqa: E402
from bench.probe_edits import PROBE  # noqa: E402
from mgdesk.eval.pairs import KeeperScore, keeper_score, load_truth, pair_scores, recall_per_transform  # noqa: E402

log = logging.getLogger("bench.unseen_edits")

#: where the originals come from, under formats/camera/jpg (the invalid/ and tests/ folders
#: hold broken files by design and are left out)
SOURCES = ("", "exif-org", "gps")
MAX_ORIGINALS = 40


def sepia(im: Image.Image) -> Image.Image:
    gray = ImageOps.grayscale(im)
    return ImageOps.colorize(gray, black=(40, 20, 5), white=(255, 235, 200))


def vignette(im: Image.Image) -> Image.Image:
    w, h = im.size
    y, x = np.ogrid[:h, :w]
    r = np.sqrt(((x - w / 2) / (w / 2)) ** 2 + ((y - h / 2) / (h / 2)) ** 2)
    mask = np.clip(1.0 - 0.6 * np.clip(r - 0.5, 0, None) ** 1.5, 0.3, 1.0)
    return Image.fromarray((np.asarray(im, np.float32) * mask[..., None]).astype(np.uint8))


def sharpen(im: Image.Image) -> Image.Image:
    return im.filter(ImageFilter.UnsharpMask(radius=3, percent=180, threshold=2))


def noise(im: Image.Image) -> Image.Image:
    rng = np.random.default_rng(7)
    a = np.asarray(im, np.float32) + rng.normal(0, 10, (im.height, im.width, 1))
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def stretch(im: Image.Image) -> Image.Image:
    return im.resize((im.width, round(im.height * 0.75)), Image.Resampling.LANCZOS)


def keystone(im: Image.Image) -> Image.Image:
    w, h = im.size
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    d = 0.08
    dst = np.float32([[w * d, 0], [w * (1 - d), 0], [w, h], [0, h]])
    M = cv2.getPerspectiveTransform(src, dst)
    out = cv2.warpPerspective(np.asarray(im), M, (w, h), borderMode=cv2.BORDER_REPLICATE)
    return Image.fromarray(out)


def watermark(im: Image.Image) -> Image.Image:
    layer = Image.new("RGBA", im.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    font = ImageFont.load_default(size=max(12, im.height // 14))
    step_x, step_y = max(1, im.width // 3), max(1, im.height // 5)
    for y in range(0, im.height, step_y):
        for x in range(-(y % step_x), im.width, step_x):
            draw.text((x, y), "© studio", fill=(255, 255, 255, 90), font=font)
    return Image.alpha_composite(im.convert("RGBA"), layer).convert("RGB")


def clahe(im: Image.Image) -> Image.Image:
    lab = cv2.cvtColor(np.asarray(im), cv2.COLOR_RGB2LAB)
    lab[..., 0] = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8)).apply(lab[..., 0])
    return Image.fromarray(cv2.cvtColor(lab, cv2.COLOR_LAB2RGB))


def upscale(im: Image.Image) -> Image.Image:
    return im.resize((im.width * 2, im.height * 2), Image.Resampling.BICUBIC)


def posterize(im: Image.Image) -> Image.Image:
    return ImageOps.posterize(im, 3)


def stickers(im: Image.Image) -> Image.Image:
    out = im.copy()
    draw = ImageDraw.Draw(out)
    rng = np.random.default_rng(3)
    r = min(im.size) // 10
    for colour in ((255, 210, 0), (230, 40, 90), (40, 160, 255)):
        x, y = rng.integers(r, im.width - r), rng.integers(r, im.height - r)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour, outline=(0, 0, 0), width=3)
    return out


def straighten(im: Image.Image) -> Image.Image:
    angle = 12.0
    rot = im.rotate(angle, resample=Image.Resampling.BICUBIC, expand=False)
    # the largest centred box without the filled corners
    t = np.radians(angle)
    w, h = im.size
    k = 1 / (np.cos(t) + max(w / h, h / w) * np.sin(t))
    cw, ch = int(w * k), int(h * k)
    return rot.crop(((w - cw) // 2, (h - ch) // 2, (w + cw) // 2, (h + ch) // 2))


def phone_filter(im: Image.Image) -> Image.Image:
    a = (np.asarray(im, np.float32) / 255.0) ** 0.8 * 255.0
    a = a * np.array([1.06, 1.0, 0.9])
    out = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    return ImageEnhance.Color(out).enhance(1.4)


def thumbnail(im: Image.Image) -> Image.Image:
    out = im.copy()
    out.thumbnail((160, 160), Image.Resampling.LANCZOS)
    return out


def crop_heavy(im: Image.Image) -> Image.Image:
    w, h = im.size
    cw, ch = int(w * 0.67), int(h * 0.67)  # 45 % of the area, off centre
    return im.crop((w - cw, 0, w, ch))


#: name -> (edit, JPEG quality it is saved at)
EDITS: dict[str, tuple[Callable[[Image.Image], Image.Image], int]] = {
    "sepia": (sepia, 90), "vignette": (vignette, 90), "sharpen": (sharpen, 90),
    "noise": (noise, 90), "stretch": (stretch, 90), "keystone": (keystone, 90),
    "jpeg_q10": (lambda im: im, 10), "watermark": (watermark, 90), "clahe": (clahe, 90),
    "upscale2x": (upscale, 90), "posterize": (posterize, 90), "stickers": (stickers, 90),
    "straighten": (straighten, 90), "filter": (phone_filter, 90), "thumbnail": (thumbnail, 90),
    "crop_heavy": (crop_heavy, 90),
}


def _crop(im: Image.Image, share: float, at: tuple[float, float] = (0.5, 0.5)) -> Image.Image:
    w, h = im.size
    cw, ch = int(w * share), int(h * share)
    x, y = int((w - cw) * at[0]), int((h - ch) * at[1])
    return im.crop((x, y, x + cw, y + ch))


def _scaled(im: Image.Image, factor: float) -> Image.Image:
    return im.resize((max(8, round(im.width * factor)), max(8, round(im.height * factor))),
                     Image.Resampling.LANCZOS)


def _jpeg(im: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def _caption(im: Image.Image) -> Image.Image:
    out = im.copy()
    ImageDraw.Draw(out).text((im.width // 10, im.height * 3 // 4), "Summer 2019!", fill="white",
                             font=ImageFont.load_default(size=max(10, im.height // 12)),
                             stroke_width=2, stroke_fill="black")
    return out


#: edits as apps and people chain them (a messenger resizes and recompresses what a phone turned,
#: a post is cropped, scaled and saved), none of them an nd-dev transform on its own
COMBINED: dict[str, tuple[Callable[[Image.Image], Image.Image], int]] = {
    "social_post": (lambda im: _scaled(_crop(im, 0.85), 0.6), 70),
    "turned_sent": (lambda im: _scaled(im.rotate(90, expand=True), 0.5), 60),
    "mirror_warm_crop": (lambda im: _crop(ImageEnhance.Color(ImageEnhance.Brightness(
        ImageOps.mirror(im)).enhance(1.2)).enhance(1.4), 0.8), 88),
    "gray_thumb": (lambda im: _scaled(ImageOps.grayscale(im).convert("RGB"), 0.3), 85),
    "caption_q35": (_caption, 35),
    "framed_turned": (lambda im: ImageOps.expand(im, 30, "white").rotate(270, expand=True), 90),
    "soft_half": (lambda im: _scaled(im.filter(ImageFilter.GaussianBlur(2)), 0.5), 85),
    "upside_crop": (lambda im: _crop(im.rotate(180), 0.75, (0.1, 0.9)), 75),
    "auto_enhance": (lambda im: ImageEnhance.Sharpness(ImageEnhance.Contrast(im).enhance(1.4)).enhance(2.0), 90),
    "resaved_thrice": (lambda im: _jpeg(_jpeg(_scaled(im, 0.8), 60), 50), 50),
    "letterboxed": (lambda im: ImageOps.expand(_scaled(im, 0.7), 40, "black"), 85),
    "mirror_small_q40": (lambda im: _scaled(ImageOps.mirror(im), 0.35), 40),
}
EDIT_SETS = {"unseen": EDITS, "combined": COMBINED, "probe": PROBE}


def originals(camera: Path) -> list[Path]:
    found = []
    for sub in SOURCES:
        folder = camera / "jpg" / sub if sub else camera / "jpg"
        for path in sorted(folder.glob("*.jp*g")):
            try:
                with Image.open(path) as im:
                    im.load()
                    if min(im.size) >= 240:
                        found.append(path)
            except Exception:  # broken by design (the camera set has a few): not an original
                continue
    return found[:MAX_ORIGINALS]


def build(camera: Path, out: Path, edits: dict = EDITS) -> Path:
    """Write the originals (as they are, EXIF and all) and their edits, and a truth.csv."""
    images = out / "images"
    images.mkdir(parents=True)
    rows = []
    for n, src in enumerate(originals(camera)):
        group = f"u{n:03d}"
        shutil.copy2(src, images / f"{group}_orig.jpg")
        rows.append((f"{group}_orig.jpg", group, group, src.name, "original"))
        with Image.open(src) as raw:
            photo = ImageOps.exif_transpose(raw).convert("RGB")
        # each original gets every edit: recall per edit is then over the same photos
        for name, (edit, quality, *kind) in edits.items():
            edited = edit(photo)
            file = f"{group}_{name}.{kind[0] if kind else 'jpg'}"
            if file.endswith(".heic"):
                import pillow_heif
                pillow_heif.register_heif_opener()
                edited.save(images / file, format="HEIF", quality=quality)
            else:
                edited.save(images / file, "JPEG", quality=quality)
            rows.append((file, group, group, src.name, name))
    with open(out / "truth.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "copy_group", "scene_group", "base", "transform"])
        w.writerows(rows)
    return images


def score(name: str, groups: list[list[str]], truth, seconds: float, keepers: list[str] | None = None) -> dict:
    s = pair_scores(groups, truth)
    per = recall_per_transform(groups, truth)
    out = {"name": name, "precision": s.precision, "recall": s.recall, "f1": s.f1,
           "false_pairs": s.false_positives, "seconds": seconds,
           "recall_per_edit": {t: r.recall for t, r in sorted(per.items())}}
    if keepers is not None:
        k = keeper_score(groups, keepers, truth)
        out["keeper"] = {"kept_original": k.kept_original, "groups": k.groups, "instead": dict(k.instead)}
    return out


def _keeper_line(keeper: dict) -> str:
    return KeeperScore(keeper["kept_original"], keeper["groups"], keeper["instead"]).describe()


def single_edit_sets(images: Path, truth, out: Path, edits: dict = EDITS) -> dict[str, Path]:
    """One folder per edit: every original and its copies of that edit only. A user seldom has
    sixteen edits of one photo; this measures each kind of edit without the others."""
    folders = {}
    for edit in edits:
        folder = out / edit / "images"
        folder.mkdir(parents=True)
        rows = [r for r in truth.rows.values() if r.transform in ("original", edit)]
        for r in rows:
            os.link(images / r.file, folder / r.file)
        with open(out / edit / "truth.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["file", "copy_group", "scene_group", "base", "transform"])
            w.writerows((r.file, r.copy_group, r.scene_group, "", r.transform) for r in rows)
        folders[edit] = folder
    return folders


def run_tools(sets: dict[str, Path], work: Path, peers: bool) -> dict[str, dict[str, list[list[str]]]]:
    """Groups of file names per tool and per set (mgdesk at its shipped copy level)."""
    groups: dict[str, dict[str, list[list[str]]]] = {"mgdesk copy": {}}
    seconds: dict[str, float] = {"mgdesk copy": 0.0}
    copy = next(r for r in run_mgdesk_library(sets, work) if r.name == "mgdesk copy")
    groups["mgdesk copy"] = copy.groups
    seconds["mgdesk copy"] = sum(copy.seconds.values())
    for peer in select(None) if peers else []:
        try:
            runs = {name: peer.run(folder) for name, folder in sets.items()}
        except PeerUnavailable as exc:
            log.info("%s: not run (%s)", peer.name, exc)
            continue
        groups[peer.name] = {name: r.groups for name, r in runs.items()}
        seconds[peer.name] = sum(r.seconds for r in runs.values())
    return {name: {"groups": g, "seconds": seconds[name],
                   "keepers": copy.keepers if name == "mgdesk copy" else None}
            for name, g in groups.items()}


def print_table(title: str, results: list[dict], edits: dict = EDITS) -> None:
    print(f"\n{title}\n{'tool':22} {'precision':>9} {'recall':>7} {'F1':>6} {'false pairs':>11} {'time':>7}")
    for r in results:
        print(f"{r['name']:22} {r['precision']:9.3f} {r['recall']:7.3f} {r['f1']:6.3f} "
              f"{r['false_pairs']:11d} {r['seconds']:6.1f}s")
    print("recall per edit (original <-> edited copy):")
    print(f"{'edit':16} " + " ".join(f"{r['name'][:12]:>12}" for r in results))
    for edit in edits:
        print(f"{edit:16} " + " ".join(f"{r['recall_per_edit'].get(edit, 0.0):12.2f}" for r in results))
    for r in results:
        if "keeper" in r:
            print(f"keep-best ({r['name']}): {_keeper_line(r['keeper'])}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--keep", type=Path, help="build the set here and keep it (default: a temp dir)")
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--mode", choices=("all", "single", "both"), default="both",
                    help="all: every edit of a photo in one library (sixteen copies a photo); "
                         "single: one library per edit (the photo and that copy)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--edits", choices=tuple(EDIT_SETS), default="unseen",
                    help="unseen: sixteen single edits nd-dev does not make; combined: twelve "
                         "chains of edits as apps make them (crop + resize + recompress, ...); "
                         "probe: thirteen more (bench/probe_edits.py)")
    args = ap.parse_args(argv)
    edits = EDIT_SETS[args.edits]
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    work = Path(tempfile.mkdtemp(prefix="mgdesk-unseen-"))
    root = args.keep or work / "set"
    if args.keep and (root / "truth.csv").exists():
        images = root / "images"
    else:
        images = build(args.data / "formats" / "camera", root, edits)
    truth = load_truth(root / "truth.csv")
    made = {r.transform for r in truth.rows.values()} - {"original"}
    if made != set(edits):
        ap.error(f"{root} holds another set of edits ({', '.join(sorted(made))}): keep each set in its own folder")
    log.info("%d files: %d originals x %d edits", len(truth.files),
             sum(r.transform == "original" for r in truth.rows.values()), len(edits))

    figures: dict[str, list[dict]] = {}
    if args.mode in ("all", "both"):
        ran = run_tools({"unseen": images}, work / "all", not args.no_peers)
        figures["all"] = [score(name, r["groups"]["unseen"], truth, r["seconds"],
                                r["keepers"]["unseen"] if r["keepers"] else None) for name, r in ran.items()]
        print_table(f"every edit in one library ({len(edits) + 1} files a photo):", figures["all"], edits)
    if args.mode in ("single", "both"):
        sets = single_edit_sets(images, truth, work / "single", edits)
        ran = run_tools(sets, work / "single-libs", not args.no_peers)
        figures["single"] = []
        for name, r in ran.items():
            rows = [score(name, r["groups"][edit], load_truth(sets[edit].parent / "truth.csv"), 0.0,
                          r["keepers"][edit] if r["keepers"] else None)
                    for edit in edits]
            fp = sum(x["false_pairs"] for x in rows)
            per = {edit: x["recall_per_edit"].get(edit, 0.0) for edit, x in zip(edits, rows)}
            found = sum(per.values()) / len(per)
            precision_pairs = [x["precision"] for x in rows]
            figures["single"].append({
                "name": name, "recall": found, "precision": float(np.mean(precision_pairs)),
                "f1": 2 * found * float(np.mean(precision_pairs)) / max(found + float(np.mean(precision_pairs)), 1e-9),
                "false_pairs": fp, "seconds": r["seconds"], "recall_per_edit": per})
            if r["keepers"]:
                instead: dict[str, int] = {}
                for x in rows:
                    for t, n in x["keeper"]["instead"].items():
                        instead[t] = instead.get(t, 0) + n
                figures["single"][-1]["keeper"] = {
                    "kept_original": sum(x["keeper"]["kept_original"] for x in rows),
                    "groups": sum(x["keeper"]["groups"] for x in rows), "instead": instead}
        print_table("one edit per library (the photos and one copy each; precision and recall "
                    f"are means over the {len(edits)} libraries):", figures["single"], edits)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
