"""The similar level on real photos: shots of one landmark join through shared geometry even when
the global descriptor ranks other buildings nearer, and chance inliers do not merge copy groups."""

from __future__ import annotations

import csv
import shutil
from collections import Counter
from pathlib import Path

import pytest

from mgdesk.core.service import Library

SCENES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "nd-scenes"


def scene_of() -> dict[str, str]:
    with open(SCENES / "truth.csv", newline="") as fh:
        return {r["file"]: r["scene_group"] for r in csv.DictReader(fh)}


@pytest.mark.slow
def test_shots_of_one_landmark_form_one_similar_group_among_other_landmarks(tmp_path):
    """All Souls College, 8 photographers' shots, among 36 shots of four other Oxford buildings:
    several of its shots are not in each other's 10 nearest neighbours (cosine 0.44-0.62)."""
    if not SCENES.exists():
        pytest.skip("shared data not available")
    import torch
    torch.set_num_threads(1)
    scenes = scene_of()
    folder = tmp_path / "oxford"
    folder.mkdir()
    for name, scene in scenes.items():
        if scene.startswith("oxford_"):
            shutil.copy2(SCENES / "images" / name, folder / name)
    lib = Library(tmp_path / "lib.sqlite")
    lib.scan([folder])
    views = lib.groups("similar")
    groups = [{Path(m.path).name for m in g.members} for g in views]
    all_souls = {n for n, s in scenes.items() if s == "oxford_all_souls"}
    assert len(all_souls) == 8
    assert any(all_souls <= g for g in groups), groups
    for g in groups:  # no two landmarks merged (a shot may show a neighbouring building too)
        counts = Counter(scenes[n] for n in g)
        assert counts.most_common(1)[0][1] >= 0.8 * len(g), counts
    for view in views:  # other shots are similar to the one kept, not its duplicates
        kept = Path(view.keeper.path).name
        assert {m.reason for m in view.members if not m.keep} == {f"similar to {kept}"}
    lib.close()


def _dated_copy(src: Path, dst: Path, taken: str) -> None:
    """The photo re-saved with a camera capture time (EXIF DateTimeOriginal)."""
    from PIL import Image

    with Image.open(src) as im:
        exif = Image.Exif()
        exif.get_ifd(0x8769)[0x9003] = taken
        im.convert("RGB").save(dst, quality=95, exif=exif)


@pytest.mark.parametrize("second, grouped", [
    ("2019:07:14 10:05:00", True),   # minutes apart: two shots of the day's herd
    ("2021:03:02 16:40:00", False),  # two years apart: two zebras, not one scene
])
def test_photos_taken_far_apart_are_one_scene_only_when_geometry_says_so(tmp_path, embedder, second, grouped):
    """Two different zebra photos look alike to the global descriptor (cosine 0.77, above the
    bar for likeness alone); their capture times decide."""
    photos = SCENES.parent / "photos"
    if not photos.exists():
        pytest.skip("shared data not available")
    folder = tmp_path / "zebras"
    folder.mkdir()
    _dated_copy(photos / "bsd100_img_052.jpg", folder / "herd.jpg", "2019:07:14 10:00:00")
    _dated_copy(photos / "set14_img_014.jpg", folder / "grazing.jpg", second)
    with Library(tmp_path / "lib.sqlite", embedder=embedder) as lib:
        lib.scan([folder])
        groups = [{Path(m.path).name for m in g.members} for g in lib.groups("similar")]
    assert groups == ([{"herd.jpg", "grazing.jpg"}] if grouped else []), groups


def test_shots_of_one_scene_taken_far_apart_still_join_on_shared_geometry(tmp_path, embedder):
    """Two viewpoints of one rigid object, dated a year apart: geometry shows one scene."""
    folder = tmp_path / "visits"
    folder.mkdir()
    images = SCENES / "images"
    if not images.exists():
        pytest.skip("shared data not available")
    _dated_copy(images / "ukbench_0000__ukbench00000.jpg", folder / "first visit.jpg", "2018:05:01 12:00:00")
    _dated_copy(images / "ukbench_0000__ukbench00001.jpg", folder / "next year.jpg", "2019:05:01 12:00:00")
    with Library(tmp_path / "lib.sqlite", embedder=embedder) as lib:
        lib.scan([folder])
        groups = [{Path(m.path).name for m in g.members} for g in lib.groups("similar")]
    assert groups == [{"first visit.jpg", "next year.jpg"}], groups


def test_the_sharpest_frame_of_a_burst_is_kept_even_as_the_smallest_file(tmp_path, embedder):
    """Three frames a second apart from one camera: two shaken (motion blur) and saved at a
    high quality, the sharp one at quality 75; file size would keep a shaken frame."""
    import cv2
    import numpy as np
    from PIL import Image

    photos = SCENES.parent / "photos"
    if not photos.exists():
        pytest.skip("shared data not available")
    folder = tmp_path / "burst"
    folder.mkdir()
    with Image.open(photos / "bsd100_img_001.jpg") as im:
        sharp = np.asarray(im.convert("RGB"))

    def shaken(length: int) -> np.ndarray:
        kernel = np.zeros((length, length), np.float32)
        kernel[length // 2, :] = 1.0 / length
        return cv2.filter2D(sharp, -1, kernel)

    for name, pixels, second, quality in (("DSC_0001.jpg", shaken(9), 1, 98),
                                          ("DSC_0002.jpg", sharp, 2, 75),
                                          ("DSC_0003.jpg", shaken(13), 3, 98)):
        exif = Image.Exif()
        exif[0x010F], exif[0x0110] = "NIKON CORPORATION", "NIKON D90"
        exif.get_ifd(0x8769)[0x9003] = f"2020:06:01 12:00:0{second}"
        Image.fromarray(pixels).save(folder / name, quality=quality, exif=exif)
    sizes = {p.name: p.stat().st_size for p in folder.iterdir()}
    assert max(sizes, key=sizes.get) != "DSC_0002.jpg"
    with Library(tmp_path / "lib.sqlite", embedder=embedder) as lib:
        lib.scan([folder])
        assert lib.groups("copy") == []  # three captures, not copies of one
        (group,) = lib.groups("similar")
    assert {Path(m.path).name for m in group.members} == set(sizes)
    assert Path(group.keeper.path).name == "DSC_0002.jpg", group.keeper.reason
    assert group.keeper.reason == "sharpest frame of the burst"


def test_a_sharpened_copy_with_its_photos_capture_time_is_no_burst_frame(tmp_path, embedder):
    """An editor keeps the capture time: the sharpened copy is an edit of the frame, not a
    sharper frame, so keep-best does not compare their focus and both views keep the same file."""
    from PIL import Image, ImageFilter

    photos = SCENES.parent / "photos"
    if not photos.exists():
        pytest.skip("shared data not available")
    folder = tmp_path / "edited"
    folder.mkdir()
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "NIKON CORPORATION", "NIKON D90"
    exif.get_ifd(0x8769)[0x9003] = "2020:06:01 12:00:01"
    with Image.open(photos / "bsd100_img_001.jpg") as im:
        im.convert("RGB").save(folder / "DSC_0001.jpg", quality=95, exif=exif)
        im.convert("RGB").filter(ImageFilter.UnsharpMask(2, 150)).save(
            folder / "DSC_0001 sharpened.jpg", quality=95, exif=exif)
    with Library(tmp_path / "lib.sqlite", embedder=embedder) as lib:
        lib.scan([folder])
        (group,) = lib.groups("similar")
        (copies,) = lib.groups("copy")
    assert "sharpest" not in group.keeper.reason
    assert group.keeper.path == copies.keeper.path, (group.keeper.reason, copies.keeper.reason)


def _in_app_frame(photo, size=(640, 480)):
    """A screenshot of the photo in one app: a titled bar on top, the photo fitted below it."""
    from PIL import Image, ImageDraw, ImageFont

    shot = Image.new("RGB", size, (245, 245, 245))
    draw = ImageDraw.Draw(shot)
    draw.rectangle((0, 0, size[0], 44), fill=(40, 70, 150))
    draw.text((14, 8), "Gallery  ·  Shared with you", fill="white", font=ImageFont.load_default(24))
    draw.text((14, size[1] - 34), "♥ 12   Reply   Share", fill=(60, 60, 60), font=ImageFont.load_default(20))
    fitted = photo.copy()
    fitted.thumbnail((size[0] - 40, size[1] - 100))
    shot.paste(fitted, ((size[0] - fitted.width) // 2, 52))
    return shot


def _in_phone_app(photo, size=(540, 1170)):
    """A phone screenshot of the photo in a social app: status bar, header, the photo, a line
    of actions under it and a tab bar."""
    from PIL import Image, ImageDraw, ImageFont

    shot = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(shot)
    small = ImageFont.load_default(22)
    draw.text((28, 14), "9:41", fill="black", font=ImageFont.load_default(26))
    draw.text((size[0] - 120, 14), "5G  87%", fill="black", font=small)
    draw.text((24, 80), "photostream", fill="black", font=ImageFont.load_default(34))
    draw.text((24, 150), "anna.miller  ·  Follow", fill=(30, 30, 30), font=small)
    fitted = photo.copy()
    fitted.thumbnail((size[0], 700))
    shot.paste(fitted, ((size[0] - fitted.width) // 2, 200))
    draw.text((24, 220 + fitted.height), "1,204 likes   Comment   Share", fill="black", font=small)
    draw.line((0, size[1] - 100, size[0], size[1] - 100), fill=(220, 220, 220), width=2)
    for i, tab in enumerate(["Home", "Search", "Post", "Reels", "Profile"]):
        draw.text((20 + i * 104, size[1] - 70), tab, fill="black", font=small)
    return shot


def _signed(photo):
    """The photo exported with the photographer's mark in its bottom right corner."""
    from PIL import ImageDraw, ImageFont

    out = photo.copy()
    draw = ImageDraw.Draw(out)
    font = ImageFont.load_default(22)
    text = "© Anna Miller Photography"
    w, h = draw.textbbox((0, 0), text, font=font, stroke_width=2)[2:]
    draw.text((out.width - w - 12, out.height - h - 12), text, fill="white", font=font,
              stroke_width=2, stroke_fill="black")
    return out


def test_photos_that_share_only_an_app_frame_or_a_watermark_are_not_similar_shots(tmp_path, embedder):
    """Screenshots of different photos in one app (desktop or phone), or different photos under
    one photographer's mark, share those pixels in the same place, and a rigid fit through them
    is no shared scene: no group may hold two of the photos."""
    photos = SCENES.parent / "photos"
    if not photos.exists():
        pytest.skip("shared data not available")
    from PIL import Image, ImageOps

    from mgdesk.core.grouping import GroupingConfig
    from mgdesk.core.verify import PairVerifier

    sources = sorted(photos.glob("urban100_*.jpg"))[:9] + sorted(photos.glob("bsd100_*.jpg"))[:9]
    folder = tmp_path / "overlays"
    folder.mkdir()
    kinds = (_in_app_frame, _in_phone_app, _signed)
    made: dict = {kind: [] for kind in kinds}
    for i, src in enumerate(sources):
        photo = ImageOps.exif_transpose(Image.open(src)).convert("RGB")
        kind = kinds[i % 3]
        made[kind].append(folder / f"{src.stem}.jpg")
        kind(photo).save(made[kind][-1], quality=90)
    # each overlay does give rigid fits that would pass for a shared scene
    verifier, cfg = PairVerifier(), GroupingConfig()
    for files in made.values():
        assert max(verifier.verify(a, b).inliers for a, b in zip(files, files[1:])) >= cfg.similar_min_inliers
    with Library(tmp_path / "lib.sqlite", embedder=embedder) as lib:
        lib.scan([folder])
        groups = [sorted(Path(m.path).name for m in g.members) for g in lib.groups("similar")]
    assert groups == [], groups
