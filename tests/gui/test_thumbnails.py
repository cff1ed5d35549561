"""Thumbnails decode on pool threads with EXIF orientation applied, land in the disk cache, and fail per file."""

from __future__ import annotations

import shutil
from pathlib import Path

from mgdesk.gui.thumbnails import ThumbnailLoader, cache_file

ORIENTATION = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "formats" / "orientation"


def test_a_thumbnail_respects_exif_orientation_and_is_cached_on_disk(qtbot, tmp_path):
    src = tmp_path / "Portrait_6.jpg"  # pixels stored landscape, EXIF says rotate: displays as portrait
    shutil.copy(ORIENTATION / "Portrait_6.jpg", src)
    loader = ThumbnailLoader(threads=1)
    with qtbot.waitSignal(loader.ready, timeout=30_000):
        assert loader.pixmap(str(src), 128) is None  # asks for it, returns at once
    pixmap = loader.pixmap(str(src), 128)
    assert pixmap is not None
    assert pixmap.height() == 128 and pixmap.width() < pixmap.height()
    assert cache_file(str(src), 128).exists()


def test_a_changed_file_gets_a_new_cache_entry(tmp_path):
    src = tmp_path / "a.jpg"
    shutil.copy(ORIENTATION / "Landscape_1.jpg", src)
    before = cache_file(str(src), 128)
    import os

    st = src.stat()
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert cache_file(str(src), 128) != before


def test_a_corrupt_file_fails_with_a_message_instead_of_a_thumbnail(qtbot, tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff garbage")
    loader = ThumbnailLoader(threads=1)
    with qtbot.waitSignal(loader.failed, timeout=30_000) as failed:
        loader.request(str(bad), 96)
    assert failed.args[0] == str(bad) and failed.args[2]
    assert loader.pixmap(str(bad), 96, request=False) is None
    assert loader.error(str(bad), 96)
