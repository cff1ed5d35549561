"""Scanner: walking safely, incremental rescans, exact copies, per-file errors, cancel and resume."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from embedder_spy import EmbedderSpy
from mgdesk.core.scanner import Scanner, hash_file, walk
from mgdesk.core.store import FileStatus, Repository
from mgdesk.core.tags import photo_tags

REPO_ROOT = Path(__file__).resolve().parents[2]
PHOTOS = REPO_ROOT.parent / "shared" / "data" / "photos"
SAMPLE = ["bsd100_img_001.jpg", "bsd100_img_002.jpg", "bsd100_img_003.jpg", "set14_img_001.jpg",
          "urban100_img_001.jpg", "urban100_img_002.jpg"]


@pytest.fixture
def photos(tmp_path) -> Path:
    root = tmp_path / "photos"
    (root / "album").mkdir(parents=True)
    for i, name in enumerate(SAMPLE):
        src = PHOTOS / name
        if not src.exists():
            pytest.skip("shared photos not available")
        shutil.copy2(src, (root / "album" if i % 2 else root) / name)
    return root


@pytest.fixture
def repo(tmp_path) -> Repository:
    return Repository.open(tmp_path / "lib.sqlite")


@pytest.fixture
def scanner(embedder):
    """make(repo, **kw) -> (a Scanner on the real model with real tags, the spy on its embedder)."""
    def make(repo, **kw) -> tuple[Scanner, EmbedderSpy]:
        emb = EmbedderSpy(embedder)
        return Scanner(repo, emb, tagger=photo_tags, batch_size=kw.pop("batch_size", 4), **kw), emb
    return make


def test_a_first_scan_records_every_photo_with_its_metadata_and_embedding(photos, repo, scanner):
    sc, emb = scanner(repo)
    report = sc.scan([photos])
    assert (report.new, report.embedded, report.errors) == (6, 6, 0)
    files = repo.files(FileStatus.OK)
    assert len(files) == 6
    assert all(f.width and f.height and f.format == "JPEG" and f.hash for f in files)
    assert repo.models() == {"lite0": 6}
    assert repo.tag_counts("lite0")


def test_an_unchanged_rescan_reads_nothing(photos, repo, scanner):
    sc, emb = scanner(repo)
    sc.scan([photos])
    emb.calls.clear()
    report = sc.scan([photos])
    assert report.unchanged == 6 and report.new == report.changed == report.embedded == 0
    assert emb.calls == []


def test_a_touched_file_is_rehashed_but_not_reembedded_when_its_content_is_the_same(photos, repo, scanner):
    sc, emb = scanner(repo)
    sc.scan([photos])
    emb.calls.clear()
    target = photos / SAMPLE[0]
    st = target.stat()
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    report = sc.scan([photos])
    assert report.changed == 1 and report.unchanged == 5
    assert emb.calls == []


def test_an_edited_file_is_reembedded(photos, repo, scanner):
    sc, emb = scanner(repo)
    sc.scan([photos])
    target = photos / SAMPLE[0]
    before = repo.file_by_path(str(target))
    old = repo.embedding(before.id, "lite0").descriptor
    Image.open(target).transpose(Image.Transpose.FLIP_TOP_BOTTOM).save(target, quality=90)
    emb.calls.clear()
    report = sc.scan([photos])
    assert report.changed == 1 and report.embedded == 1 and emb.calls == [str(target)]
    after = repo.file_by_path(str(target))
    assert after.id == before.id and after.hash != before.hash
    assert not (repo.embedding(after.id, "lite0").descriptor == old).all()


def test_a_moved_file_is_recognised_by_content_and_keeps_its_row(photos, repo, scanner):
    sc, emb = scanner(repo)
    sc.scan([photos])
    old = photos / SAMPLE[0]
    before = repo.file_by_path(str(old))
    (photos / "elsewhere").mkdir()
    new = photos / "elsewhere" / "renamed.jpg"
    old.rename(new)
    emb.calls.clear()
    report = sc.scan([photos])
    assert report.moved == 1 and report.new == 0 and report.removed == 0
    assert emb.calls == []
    moved = repo.file_by_path(str(new))
    assert moved.id == before.id and moved.status == FileStatus.OK
    assert repo.file_by_path(str(old)) is None


def test_a_deleted_file_is_marked_missing_and_an_added_one_is_new(photos, repo, scanner):
    sc, _ = scanner(repo)
    sc.scan([photos])
    (photos / SAMPLE[0]).unlink()
    shutil.copy2(PHOTOS / "set14_img_002.jpg", photos / "added.jpg")
    report = sc.scan([photos])
    assert report.removed == 1 and report.new == 1
    assert repo.file_by_path(str(photos / SAMPLE[0])).status == FileStatus.MISSING
    assert repo.file_by_path(str(photos / "added.jpg")).status == FileStatus.OK


def test_a_folder_that_cannot_be_listed_keeps_its_photos_and_says_so(photos, repo, scanner, monkeypatch):
    """An album whose permissions changed (or a disk that went away under it) hides its photos;
    they are not removed from the library, and the scan says which folder it could not read."""
    sc, _ = scanner(repo)
    sc.scan([photos])
    album = str(photos / "album")
    real_scandir = os.scandir

    def scandir(path):
        if os.fspath(path) == album:
            raise PermissionError(13, "Permission denied", album)
        return real_scandir(path)
    monkeypatch.setattr(os, "scandir", scandir)
    report = sc.scan([photos])
    assert report.removed == 0 and [p for p, _ in report.unreadable] == [album]
    assert all(f.status == FileStatus.OK for f in repo.files_under([str(photos)]))


def test_a_name_that_is_not_utf8_is_reported_and_the_scan_goes_on(photos, repo, scanner):
    with open(os.path.join(os.fsencode(photos), b"bad\xffname.jpg"), "wb") as fh:
        fh.write((PHOTOS / SAMPLE[0]).read_bytes())
    sc, _ = scanner(repo)
    report = sc.scan([photos])
    assert report.new == len(SAMPLE) and report.unreadable == [
        (str(photos / "bad\\xffname.jpg"), "its name is not valid UTF-8; rename it to scan it")]
    # listed with the files that cannot be read (`mgdesk errors`, the app's list), until renamed
    [listed] = repo.files(FileStatus.ERROR)
    assert listed.path == str(photos / "bad\\xffname.jpg") and "rename it" in listed.error_message
    assert sc.scan([photos]).removed == 0 and len(repo.files(FileStatus.ERROR)) == 1
    os.rename(os.path.join(os.fsencode(photos), b"bad\xffname.jpg"), photos / "good name.jpg")
    report = sc.scan([photos])
    assert report.new == 1 and repo.files(FileStatus.ERROR) == []


def test_exact_copies_are_found_by_content_and_embedded_once(photos, repo, scanner):
    shutil.copy2(photos / SAMPLE[0], photos / "album" / "copy of it.jpg")
    sc, emb = scanner(repo, batch_size=50)
    report = sc.scan([photos])
    assert report.new == 7 and report.embedded == 6
    assert len(emb.calls) == 6
    groups = repo.exact_groups()
    assert len(groups) == 1
    assert {Path(f.path).name for f in groups[0]} == {SAMPLE[0], "copy of it.jpg"}


def test_one_file_is_never_counted_twice_through_hard_links_or_symlinked_folders(photos, repo, tmp_path, scanner):
    os.link(photos / SAMPLE[0], photos / "album" / "hardlink.jpg")
    os.symlink(photos / "album", photos / "alias")
    os.symlink(photos, photos / "album" / "loop")  # a loop back to the root
    found = list(walk([photos]))
    assert len(found) == 6
    assert len({(f.dev, f.ino) for f in found}) == 6
    sc, _ = scanner(repo)
    assert sc.scan([photos]).new == 6
    # scanning the alias on its own later does not add the same files again
    report = sc.scan([photos / "alias"])
    assert report.new == 0 and report.skipped_aliases == 6  # through loop/ it sees them all


def test_a_symlinked_photo_is_kept_under_its_real_path(photos, repo, scanner):
    real = photos / "album" / SAMPLE[1]
    os.symlink(real, photos / "0 link to a photo.jpg")  # met first by the walk
    os.symlink(PHOTOS / SAMPLE[2], photos / "outside.jpg")  # a photo outside the roots
    sc, _ = scanner(repo)
    sc.scan([photos])
    paths = {Path(f.path).name for f in repo.files_under([str(photos)])}
    assert real.name in paths and "0 link to a photo.jpg" not in paths
    assert "outside.jpg" in paths  # found nowhere else: the link is its only name here


def test_hidden_and_system_folders_and_excluded_patterns_are_skipped(photos):
    for name in (".git", "@eaDir", "$RECYCLE.BIN", ".hidden"):
        (photos / name).mkdir()
        shutil.copy2(photos / SAMPLE[0], photos / name / "x.jpg")
    (photos / "album" / "notes.txt").write_text("not a photo")
    assert len(list(walk([photos]))) == 6
    assert len(list(walk([photos], exclude=["album"]))) == 3
    assert len(list(walk([photos], exclude=["bsd100_*"]))) == 3


def test_bad_files_are_recorded_with_a_reason_and_the_scan_goes_on(photos, repo, scanner):
    (photos / "empty.jpg").write_bytes(b"")
    (photos / "text.jpg").write_text("this is not a photo")
    data = (photos / SAMPLE[0]).read_bytes()
    (photos / "truncated.jpg").write_bytes(data[: len(data) // 3])
    sc, _ = scanner(repo)
    report = sc.scan([photos])
    assert report.new == 9
    by_name = {Path(f.path).name: f for f in repo.files()}
    assert by_name["empty.jpg"].status == FileStatus.ERROR and by_name["empty.jpg"].error_reason == "empty"
    assert by_name["text.jpg"].status == FileStatus.ERROR and by_name["text.jpg"].error_message
    assert sum(f.status == FileStatus.OK for f in by_name.values()) >= 6
    assert report.errors >= 2


def test_a_cancelled_scan_keeps_finished_batches_and_the_next_scan_completes(photos, repo, scanner):
    cancel = threading.Event()
    sc, _ = scanner(repo, batch_size=2)

    def progress(p):
        if p.phase == "scan" and p.done >= 2:
            cancel.set()

    report = sc.scan([photos], progress=progress, cancel=cancel)
    assert report.cancelled and report.new == 2
    assert len(repo.files()) == 2
    report = sc.scan([photos])
    assert report.new == 4 and report.unchanged == 2 and not report.cancelled


def test_progress_reports_done_total_path_and_rate(photos, repo, scanner):
    seen = []
    sc, _ = scanner(repo, batch_size=3)
    sc.scan([photos], progress=seen.append)
    scans = [p for p in seen if p.phase == "scan"]
    assert scans[-1].done == scans[-1].total == 6
    assert scans[-1].current and scans[-1].rate > 0


def test_listing_the_folders_reports_how_many_photos_it_has_found(photos, repo, scanner, monkeypatch):
    monkeypatch.setattr("mgdesk.core.scanner.WALK_REPORT_EVERY", 2)
    seen = []
    sc, _ = scanner(repo)
    sc.scan([photos], progress=seen.append)
    assert [p.done for p in seen if p.phase == "walk"] == [0, 2, 4, 6]


def test_a_scan_cancelled_while_listing_marks_nothing_removed(photos, repo, scanner, monkeypatch):
    sc, _ = scanner(repo)
    sc.scan([photos])
    monkeypatch.setattr("mgdesk.core.scanner.WALK_REPORT_EVERY", 2)
    cancel = threading.Event()
    report = sc.scan([photos], progress=lambda p: cancel.set() if p.phase == "walk" and p.done else None,
                     cancel=cancel)
    assert report.cancelled and report.removed == 0
    assert len(repo.files(FileStatus.OK)) == 6


def test_the_content_hash_streams_and_partial_hash_uses_both_ends(tmp_path):
    a, b = tmp_path / "a.bin", tmp_path / "b.bin"
    body = os.urandom(300_000)
    a.write_bytes(body)
    b.write_bytes(body[:100_000] + b"x" + body[100_001:])  # differs only in the middle
    pa, fa = hash_file(str(a))
    pb, fb = hash_file(str(b))
    assert pa == pb and fa != fb


KILL_SCRIPT = textwrap.dedent("""
    import sys
    sys.path.insert(0, {tests!r})
    from embedder_spy import EmbedderSpy
    from mgdesk.core.embedding import Embedder
    from mgdesk.core.scanner import Scanner
    from mgdesk.core.store import Repository
    repo = Repository.open({db!r})
    Scanner(repo, EmbedderSpy(Embedder("lite0", "cpu"), delay=0.3), batch_size=2).scan([{root!r}])
""")


def test_a_scan_killed_mid_way_leaves_a_sound_database_and_the_rescan_completes(photos, tmp_path, embedder):
    db = tmp_path / "lib.sqlite"
    script = KILL_SCRIPT.format(tests=str(Path(__file__).parents[1]), db=str(db), root=str(photos))
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=REPO_ROOT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if db.exists():
                try:
                    repo = Repository.open(db)
                    n = len(repo.files())
                    repo.close()
                except Exception:
                    n = 0
                if n >= 2:
                    break
            assert proc.poll() is None, "the scan finished before it could be killed"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    repo = Repository.open(db)
    assert repo.integrity_ok()
    before = len(repo.files())
    assert 2 <= before < 6
    report = Scanner(repo, EmbedderSpy(embedder), batch_size=2).scan([photos])
    assert report.new == 6 - before and report.unchanged == before
    assert len(repo.files(FileStatus.OK)) == 6 and repo.integrity_ok()


def test_photos_from_a_library_that_predates_capture_signatures_get_one_on_the_next_scan(
        tmp_path, repo, scanner):
    camera = REPO_ROOT.parent / "shared" / "data" / "formats" / "camera" / "jpg" / "hdr"
    if not camera.exists():
        pytest.skip("shared camera files not available")
    root = tmp_path / "camera"
    root.mkdir()
    shutil.copy2(camera / "canon_hdr_NO.jpg", root / "with exif.jpg")
    Image.new("RGB", (64, 48), (90, 120, 60)).save(root / "no exif.jpg")
    sc, _ = scanner(repo)
    sc.scan([root])
    shots = {Path(f.path).name: f.shot for f in repo.files(FileStatus.OK)}
    assert shots["with exif.jpg"] and shots["no exif.jpg"] == ""  # "" = read, nothing to keep
    # what a library scanned before schema 3 looks like: the files are unchanged, never read for it
    for f in repo.files(FileStatus.OK):
        repo.update_file(f.id, shot=None)
    sc, emb = scanner(repo)
    report = sc.scan([root])
    assert report.unchanged == 2 and emb.calls == []  # headers only: nothing is embedded again
    assert {Path(f.path).name: f.shot for f in repo.files(FileStatus.OK)} == shots


def test_photos_embedded_before_the_model_had_rotated_views_are_embedded_once_more(photos, repo, embedder):
    from mgdesk.core.embedding import Embedder

    assert embedder.view_angles  # the shipped card asks for views
    plain = EmbedderSpy(Embedder("lite0", "cpu", view_angles=()))
    Scanner(repo, plain, batch_size=4).scan([photos])
    assert all(repo.embedding(f.id, "lite0").views is None for f in repo.files(FileStatus.OK))
    with_views = EmbedderSpy(embedder)
    report = Scanner(repo, with_views, batch_size=4).scan([photos])
    assert (report.new, report.changed, report.embedded) == (0, 0, 6) and len(with_views.calls) == 6
    assert all(repo.embedding(f.id, "lite0").views.shape == (3, embedder.dim)
               for f in repo.files(FileStatus.OK))
    again = EmbedderSpy(embedder)
    Scanner(repo, again, batch_size=4).scan([photos])
    assert again.calls == []
    two = EmbedderSpy(Embedder("lite0", "cpu", view_angles=(90, 270)))  # a card asking for others
    Scanner(repo, two, batch_size=4).scan([photos])
    assert len(two.calls) == 6


def test_a_photo_added_on_its_own_is_rescanned_as_unchanged(photos, repo, scanner):
    sc, emb = scanner(repo)
    single = photos / SAMPLE[0]
    assert sc.scan([single]).new == 1
    emb.calls.clear()
    report = sc.scan([single])  # the library's roots include it as it was given
    assert report.unchanged == 1 and report.new == 0 and emb.calls == []


def test_two_names_swapped_between_scans_keep_each_photo_its_own_embedding(photos, repo, scanner):
    """a.jpg renamed away and another photo renamed onto a.jpg: the old a's content reappears under
    a new name while a.jpg's record changes content, in one batch. Its embedding must be its own, not
    copied from the record that now holds the other photo."""
    import numpy as np

    sc, emb = scanner(repo, batch_size=16)
    a, c = photos / SAMPLE[0], photos / SAMPLE[2]
    sc.scan([photos])
    before = {f.hash: repo.embedding(f.id, "lite0").descriptor for f in repo.files(FileStatus.OK)}
    a.rename(photos / "z_old.jpg")  # listed after a.jpg: its copy is written after a.jpg is rewritten
    c.rename(a)
    sc.scan([photos])
    for f in repo.files(FileStatus.OK):
        assert f.hash == hash_file(f.path)[1]
        assert np.allclose(repo.embedding(f.id, "lite0").descriptor, before[f.hash], atol=1e-3), f.path
    assert repo.file_by_path(str(photos / "z_old.jpg")).width == Image.open(photos / "z_old.jpg").width


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="no /proc here")
def test_the_system_s_process_and_device_folders_are_never_walked(tmp_path):
    # a root of / (or a link to /proc inside a root) must not list processes as photos
    root = tmp_path / "root"
    root.mkdir()
    (root / "kernel").symlink_to("/proc")
    (root / "mine").mkdir()
    (root / "mine" / "proc").mkdir()  # a user's own folder of that name is walked
    (root / "mine" / "proc" / "a.jpg").write_bytes(b"x")
    assert [Path(f.path).relative_to(root).as_posix() for f in walk([root])] == ["mine/proc/a.jpg"]
