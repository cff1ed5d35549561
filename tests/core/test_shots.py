"""Camera metadata tells a burst frame or an exposure bracket from an edit of one capture."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageEnhance

from mgdesk.core.imaging import load_image
from mgdesk.core.shots import Shot, different_captures

PHOTOS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "photos"


def save_with_exif(im: Image.Image, path: Path, taken: str, subsec: str = "", exposure=(1, 125),
                   bias=(0, 1)) -> None:
    exif = Image.Exif()
    exif[0x0132] = "2030:01:01 00:00:00"  # a modify date, which edits change: never used here
    ifd = exif.get_ifd(0x8769)
    ifd[0x9003] = taken
    if subsec:
        ifd[0x9291] = subsec
    ifd[0x829A] = exposure
    ifd[0x9204] = bias
    im.save(path, quality=92, exif=exif)


def test_the_signature_round_trips_and_missing_metadata_proves_nothing():
    shot = Shot.parse("2024-05-01T10:00:00.25|0.008|2.8|100|0")
    assert shot.signature() == "2024-05-01T10:00:00.25|0.008|2.8|100|0"
    assert different_captures(None, shot.signature()) is None
    assert different_captures("", "") is None
    assert Shot().signature() is None


def test_other_times_and_exposures_are_other_captures_but_a_zone_shift_is_not():
    base = "2024-05-01T10:00:00.25|0.008|2.8|100|0"
    assert "apart" in different_captures(base, "2024-05-01T10:00:01.25|0.008|2.8|100|0")
    assert "sub-seconds" in different_captures(base, "2024-05-01T10:00:00.50|0.008|2.8|100|0")
    assert "exposure time" in different_captures(base, "2024-05-01T10:00:00.25|0.004|2.8|100|0")
    assert "exposure bias" in different_captures(base, "2024-05-01T10:00:00.25|0.008|2.8|100|-1")
    assert different_captures(base, "2024-05-01T12:00:00.25|0.008|2.8|100|0") is None  # +2 h
    assert different_captures(base, "2024-05-01T12:00:00|0.008|2.8|100|0") is None  # sub-s lost
    assert "apart" in different_captures(base, "2024-05-01T12:00:00.75|0.008|2.8|100|0")
    assert different_captures(Shot.parse(base), Shot.parse(base)) is None  # parsed shots too
    assert different_captures(base, "|0.008|2.8|100|0") is None  # a field only one has


def test_the_loader_reads_the_capture_fields_not_the_modify_date(tmp_path):
    path = tmp_path / "a.jpg"
    save_with_exif(Image.new("RGB", (64, 48), "gray"), path, "2024:05:01 10:00:00", "250")
    shot = Shot.parse(load_image(path).info.shot)
    assert shot.taken.isoformat() == "2024-05-01T10:00:00" and shot.subsec == "25"  # 0.250 s
    assert shot.exposure_s == pytest.approx(0.008) and shot.bias_ev == 0


@pytest.mark.slow
def test_a_bracket_with_camera_metadata_is_similar_but_never_a_copy(tmp_path):
    """The darker frame of a bracket is, pixel for pixel, a darkening edit of the brighter one:
    only the camera's metadata (another exposure bias) tells them apart. The edit keeps it."""
    if not PHOTOS.exists():
        pytest.skip("shared photos not available")
    import torch

    from mgdesk.core.service import Library
    torch.set_num_threads(1)
    folder = tmp_path / "shots"
    folder.mkdir()
    with Image.open(PHOTOS / "bsd100_img_010.jpg") as im:
        im = im.convert("RGB")
        save_with_exif(im, folder / "frame.jpg", "2024:05:01 10:00:00", "10")
        darker = ImageEnhance.Brightness(im).enhance(0.6)
        save_with_exif(darker, folder / "bracket -1 EV.jpg", "2024:05:01 10:00:00", "10", bias=(-1, 1))
        save_with_exif(darker, folder / "darkened edit.jpg", "2024:05:01 10:00:00", "10")
    shutil.copy2(PHOTOS / "set14_img_001.jpg", folder / "other.jpg")
    lib = Library(tmp_path / "lib.sqlite")
    lib.scan([folder])
    copies = [{Path(m.path).name for m in g.members} for g in lib.groups("copy")]
    assert copies == [{"frame.jpg", "darkened edit.jpg"}]
    similar = [{Path(m.path).name for m in g.members} for g in lib.groups("similar")]
    assert {"frame.jpg", "darkened edit.jpg", "bracket -1 EV.jpg"} in similar
    lib.close()


def test_frames_of_one_camera_size_and_half_minute_are_one_burst():
    from datetime import datetime, timedelta

    from mgdesk.core.shots import one_burst
    t = datetime(2020, 6, 1, 12, 0, 0)
    times = [t, t + timedelta(seconds=1), t + timedelta(seconds=4)]
    cams, sizes = ["Nikon D90"] * 3, [(4288, 2848)] * 3
    assert one_burst(times, cams, sizes)
    assert not one_burst([t, t + timedelta(minutes=5)], cams[:2], sizes[:2])  # another try later
    assert not one_burst(times, ["Nikon D90", "iPhone 12", "Nikon D90"], sizes)  # someone else's
    assert not one_burst(times, cams, [(4288, 2848), (2144, 1424), (4288, 2848)])  # an export
    assert not one_burst([t, None, t], cams, sizes)  # undated: may be any view
    assert not one_burst([t], cams[:1], sizes[:1])
