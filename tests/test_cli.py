"""The `mgdesk` command: JSON output is an API, errors are one line, trash needs confirmation."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from mgdesk.cli import main
from mgdesk.core.service import Library
from mgdesk.core.sizes import human_size

PHOTOS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "photos"
SAMPLE = ["bsd100_img_001.jpg", "bsd100_img_002.jpg", "set14_img_001.jpg"]


@pytest.fixture
def library(tmp_path, embedder):
    """A library scanned with the real default model: (db path, photo folder)."""
    if not PHOTOS.exists():
        pytest.skip("shared photos not available")
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in SAMPLE:
        shutil.copy2(PHOTOS / name, folder / name)
    shutil.copy2(folder / SAMPLE[0], folder / "copy.jpg")
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    db = tmp_path / "lib.sqlite"
    with Library(db, embedder=embedder) as lib:
        lib.scan([folder])
    return db, folder


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_dupes_json_lists_groups_with_path_score_keep_and_reason(library, capsys):
    db, folder = library
    code, out, _ = run(capsys, "dupes", "--db", str(db), "--level", "exact", "--json")
    assert code == 0
    data = json.loads(out)
    assert len(data["groups"]) == 1
    group = data["groups"][0]
    assert group["level"] == "exact"
    assert {Path(m["path"]).name for m in group["members"]} == {SAMPLE[0], "copy.jpg"}
    for m in group["members"]:
        assert set(m) >= {"path", "score", "keep", "reason", "modified"}
        assert isinstance(m["keep"], bool) and isinstance(m["score"], float) and m["reason"]
        written = datetime.fromtimestamp(os.stat(m["path"]).st_mtime).isoformat(timespec="seconds")
        assert m["modified"] == written  # local time, as the file manager shows it
    assert sum(m["keep"] for m in group["members"]) == 1


def test_search_json_returns_paths_and_scores(library, capsys):
    db, folder = library
    code, out, _ = run(capsys, "search", str(folder / SAMPLE[1]), "--db", str(db),
                       "-k", "2", "--json")
    assert code == 0
    results = json.loads(out)["results"]
    assert len(results) == 2 and all(set(r) >= {"path", "score"} for r in results)
    assert results[0]["score"] >= results[1]["score"]


def test_status_errors_and_tags_json(library, capsys):
    db, _ = library
    code, out, _ = run(capsys, "status", "--db", str(db), "--json")
    status = json.loads(out)
    assert code == 0 and status["files"]["ok"] == 4 and status["files"]["error"] == 1
    code, out, _ = run(capsys, "status", "--db", str(db))
    assert code == 0 and "files: 4 photos, 1 unreadable (mgdesk errors)\n" in out  # statuses in words
    code, out, _ = run(capsys, "errors", "--db", str(db), "--json")
    errors = json.loads(out)["errors"]
    assert code == 0 and [Path(e["path"]).name for e in errors] == ["broken.jpg"] and errors[0]["reason"]
    code, out, _ = run(capsys, "errors", "--db", str(db))
    assert code == 0 and out.count("broken.jpg") == 1 and len(out.strip().splitlines()) == 1  # the path once
    code, out, _ = run(capsys, "tags", "--db", str(db), "--json")
    tags = json.loads(out)["tags"]
    assert code == 0 and sum(t["count"] for t in tags) == 4
    code, out, _ = run(capsys, "tags", "--db", str(db), "--tag", tags[0]["label"], "--json")
    assert len(json.loads(out)["photos"]) == tags[0]["count"]


def test_trash_without_yes_and_without_a_terminal_is_refused(library, capsys, monkeypatch):
    db, folder = library
    code, _, err = run(capsys, "trash", str(folder / "copy.jpg"), "--db", str(db))
    assert code != 0 and "--yes" in err and len(err.strip().splitlines()) == 1
    assert (folder / "copy.jpg").exists()


def test_a_removal_that_would_be_refused_is_refused_before_asking(library, capsys, monkeypatch):
    db, folder = library
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    prompts = []
    monkeypatch.setattr("builtins.input", lambda prompt: prompts.append(prompt) or "y")
    code, _, err = run(capsys, "trash", str(folder / "copy.jpg"), str(folder / SAMPLE[0]), "--db", str(db))
    assert code == 1 and "every copy" in err and prompts == []
    assert (folder / "copy.jpg").exists() and (folder / SAMPLE[0]).exists()


def test_ctrl_d_at_the_trash_prompt_is_no(library, capsys, monkeypatch):
    db, folder = library
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)

    def end_of_input(prompt):
        raise EOFError
    monkeypatch.setattr("builtins.input", end_of_input)
    code, out, err = run(capsys, "trash", str(folder / "copy.jpg"), "--db", str(db))
    assert code == 1 and "nothing moved" in out and "Traceback" not in err
    assert (folder / "copy.jpg").exists()


def test_trash_states_count_and_size_and_asks_before_moving(library, capsys, monkeypatch):
    db, folder = library
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    prompts = []
    monkeypatch.setattr("builtins.input", lambda prompt: prompts.append(prompt) or "n")
    code, out, _ = run(capsys, "trash", str(folder / "copy.jpg"), "--db", str(db))
    size = (folder / "copy.jpg").stat().st_size
    shown = human_size(size)
    assert code == 1 and "Move 1 file," in prompts[0] and shown in prompts[0]
    assert (folder / "copy.jpg").exists()


def test_trash_then_undo_puts_the_file_back(library, capsys):
    db, folder = library
    target = folder / "copy.jpg"
    code, out, _ = run(capsys, "trash", str(target), "--db", str(db), "--yes")
    assert code == 0 and not target.exists()
    code, out, _ = run(capsys, "undo", "--db", str(db))
    assert code == 0 and target.exists() and "restored 1" in out


def test_not_duplicates_is_remembered_and_undone_like_any_action(library, capsys):
    db, folder = library
    a, b = str(folder / SAMPLE[1]), str(folder / SAMPLE[2])
    code, out, _ = run(capsys, "not-duplicates", a, b, "--db", str(db))
    assert code == 0 and "marked 2 photos" in out
    status = json.loads(run(capsys, "status", "--db", str(db), "--json")[1])
    assert status["not_duplicates"] == 1
    assert status["undo"]["kind"] == "not_duplicate" and sorted(status["undo"]["paths"]) == sorted([a, b])
    assert "undo would: lift 'not duplicates' of 2 photos" in run(capsys, "status", "--db", str(db))[1]
    code, out, _ = run(capsys, "undo", "--db", str(db))
    assert code == 0 and "undid 'not duplicates' for 2 photos" in out
    status = json.loads(run(capsys, "status", "--db", str(db), "--json")[1])
    assert status["not_duplicates"] == 0 and status["undo"] is None


@pytest.mark.parametrize("paths, message", [((SAMPLE[1],), "at least two photos"),
                                            ((SAMPLE[0], "copy.jpg"), "byte for byte"),
                                            ((SAMPLE[1], "nowhere.jpg"), "not in the library")])
def test_not_duplicates_of_fewer_than_two_photos_or_one_content_is_a_one_line_error(library, capsys, paths,
                                                                                      message):
    db, folder = library
    code, out, err = run(capsys, "not-duplicates", *(str(folder / p) for p in paths), "--db", str(db))
    assert code == 1 and message in err and len(err.strip().splitlines()) == 1


def test_trash_refuses_to_remove_the_last_copy(library, capsys):
    db, folder = library
    code, _, err = run(capsys, "trash", str(folder / "copy.jpg"), str(folder / SAMPLE[0]), "--db", str(db), "--yes")
    assert code == 1 and "every copy" in err
    assert (folder / "copy.jpg").exists() and (folder / SAMPLE[0]).exists()


def test_trash_to_a_folder_moves_there(library, capsys, tmp_path):
    db, folder = library
    code, _, _ = run(capsys, "trash", str(folder / "copy.jpg"), "--to", str(tmp_path / "out"), "--db", str(db), "--yes")
    assert code == 0 and (tmp_path / "out" / "copy.jpg").exists()


def test_a_file_renamed_to_leave_another_alone_is_named_on_move_and_on_undo(library, capsys, tmp_path):
    db, folder = library
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "copy.jpg").write_bytes(b"someone else's file")
    code, out, _ = run(capsys, "trash", str(folder / "copy.jpg"), "--to", str(out_dir), "--db", str(db), "--yes")
    assert code == 0 and f"copy.jpg is {out_dir / 'copy (2).jpg'}" in out
    (folder / "copy.jpg").write_bytes(b"a new file where the copy was")
    code, out, _ = run(capsys, "undo", "--db", str(db))
    assert code == 0 and f"restored as {folder / 'copy (2).jpg'}" in out
    assert (folder / "copy.jpg").read_bytes() == b"a new file where the copy was"
    assert (out_dir / "copy.jpg").read_bytes() == b"someone else's file"


def exit_code(argv: list[str]) -> int:
    """main()'s return value, or argparse's SystemExit code for bad arguments."""
    try:
        return main(argv)
    except SystemExit as e:
        return int(e.code or 0)


@pytest.mark.parametrize("argv", [
    ["scan", "/no/such/folder"],
    ["search", "/no/such/image.jpg"],
    ["trash", "/no/such/image.jpg", "--yes"],
    ["dupes", "--level", "nearly"],
    ["search", "x.jpg", "-k", "many"],
    ["frobnicate"],
])
def test_bad_arguments_and_paths_give_one_line_and_a_nonzero_exit(argv, capsys, tmp_path):
    if argv[0] != "frobnicate":
        argv = [*argv, "--db", str(tmp_path / "lib.sqlite")]
    code = exit_code(argv)
    err = capsys.readouterr().err
    assert code != 0
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and err.startswith("mgdesk")


def test_an_unreadable_database_path_is_a_one_line_error(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run(capsys, "status", "--db", str(blocker / "lib.sqlite"))
    assert code == 1 and len(err.strip().splitlines()) == 1


def test_an_empty_file_given_as_database_is_no_library(tmp_path, capsys):
    empty = tmp_path / "lib.sqlite"
    empty.touch()
    code, _, err = run(capsys, "status", "--db", str(empty))
    assert code == 1 and "no library at" in err and empty.stat().st_size == 0


@pytest.mark.parametrize("content", [b"not a database at all" * 100, b""])
def test_a_damaged_database_is_a_one_line_error(tmp_path, capsys, content):
    bad = tmp_path / "lib.sqlite"
    bad.write_bytes(b"SQLite format 3\x00" + content if content else b"\x00" * 4096)
    for command in (["status"], ["dupes"], ["scan", str(tmp_path)]):
        code, _, err = run(capsys, *command, "--db", str(bad))
        assert code == 1 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
        assert "cannot use the library database" in err


@pytest.mark.parametrize("command", [["status"], ["dupes"], ["tags"]])
def test_an_unknown_model_is_an_error_not_an_empty_library(library, capsys, command):
    db, _ = library
    code, out, err = run(capsys, *command, "--db", str(db), "--model", "bogus")
    assert code == 1 and out == "" and "unknown model 'bogus'" in err and "lite0" in err


def test_a_tag_no_photo_has_says_so(library, capsys):
    db, _ = library
    code, out, _ = run(capsys, "tags", "--db", str(db), "--tag", "no such tag")
    assert code == 0 and out.strip() == "no photos tagged 'no such tag'"


@pytest.mark.parametrize("argv", [["search", "x.jpg", "-k", "0"], ["dupes", "--threshold", "5"]])
def test_out_of_range_numbers_are_usage_errors(argv, capsys):
    assert exit_code(argv) == 2
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("command", [["dupes"], ["search", "x.jpg"], ["tags"], ["status"], ["undo"],
                                     ["errors"]])
def test_a_mistyped_database_path_is_an_error_and_creates_nothing(command, tmp_path, capsys):
    missing = tmp_path / "no" / "such" / "lib.sqlite"
    if command[0] == "search":
        (tmp_path / "x.jpg").write_bytes(b"")  # the image exists; the library does not
        command = ["search", str(tmp_path / "x.jpg")]
    code, _, err = run(capsys, *command, "--db", str(missing))
    assert code == 1 and "no library at" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "no").exists()


@pytest.mark.slow
def test_scan_with_the_real_model_through_the_command_line(tmp_path):
    if not PHOTOS.exists():
        pytest.skip("shared photos not available")
    folder = tmp_path / "p"
    folder.mkdir()
    shutil.copy2(PHOTOS / SAMPLE[0], folder / "a.jpg")
    shutil.copy2(PHOTOS / SAMPLE[0], folder / "b.jpg")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    db = tmp_path / "lib.sqlite"
    proc = subprocess.run([sys.executable, "-m", "mgdesk", "scan", str(folder), "--db", str(db), "--json"],
                          capture_output=True, text=True, env=env, cwd=Path(__file__).parents[1], timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["scan"]["new"] == 2
    proc = subprocess.run([sys.executable, "-m", "mgdesk", "dupes", "--db", str(db), "--json"],
                          capture_output=True, text=True, env=env, cwd=Path(__file__).parents[1], timeout=300)
    groups = json.loads(proc.stdout)["groups"]
    assert len(groups) == 1 and len(groups[0]["members"]) == 2


def test_models_lists_the_shipped_cards_as_json(capsys):
    assert main(["models", "--json"]) == 0
    models = {m["name"]: m for m in json.loads(capsys.readouterr().out)["models"]}
    assert models["lite0"]["installed"] is True  # its weights come with the install
    for m in models.values():  # the others say how to get theirs
        assert m["installed"] or "pip install" in m["missing"] or "not found" in m["missing"]


def test_a_file_is_not_scanned_as_a_folder_to_watch(tmp_path, capsys):
    photo = tmp_path / "one.jpg"
    shutil.copy2(PHOTOS / SAMPLE[0], photo)
    code, _, err = run(capsys, "scan", str(photo), "--db", str(tmp_path / "lib.sqlite"))
    assert code == 1 and "not a folder" in err and err.count("\n") == 1
    assert not (tmp_path / "lib.sqlite").exists()


def test_a_scan_with_a_model_whose_weights_are_missing_creates_no_library(tmp_path, capsys):
    from mgdesk.paths import user_models_dir
    cards = user_models_dir()  # a model the user added, its file since deleted
    card = json.loads((Path(__file__).resolve().parents[1] / "models" / "lite0.json").read_text())
    card.update(name="gone", weights=str(tmp_path / "deleted.pth"))
    (cards / "gone.json").write_text(json.dumps(card))
    (tmp_path / "photos").mkdir()
    code, _, err = run(capsys, "scan", str(tmp_path / "photos"), "--db", str(tmp_path / "lib.sqlite"),
                       "--model", "gone")
    assert code == 1 and "not found" in err
    assert not (tmp_path / "lib.sqlite").exists()


@pytest.mark.parametrize("command", [["dupes"], ["tags"], ["search", "QUERY"]])
def test_a_model_the_library_holds_no_vectors_of_is_an_error_not_an_empty_answer(library, capsys, command):
    db, folder = library
    command = [str(folder / SAMPLE[1]) if c == "QUERY" else c for c in command]
    code, out, err = run(capsys, *command, "--db", str(db), "--model", "lite1")
    assert code == 1 and out == "" and "embedded with model 'lite1'" in err and "lite0" in err


def test_import_multigrain_without_a_file_is_a_usage_error(capsys):
    assert exit_code(["models", "import-multigrain"]) == 2
    assert "FILE" in capsys.readouterr().err


def test_importing_a_file_that_is_not_a_checkpoint_is_a_one_line_error(tmp_path, capsys):
    bogus = tmp_path / "weights.pth"
    bogus.write_text("definitely not torch")
    assert main(["models", "import-multigrain", str(bogus)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("mgdesk: error:") and err.count("\n") == 1
    assert "weights_only" not in err  # torch's advice to load it unsafely is not passed on


def test_the_window_without_a_display_is_a_one_line_error_not_a_crash(monkeypatch, capsys):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    assert main([]) == 1
    err = capsys.readouterr().err
    assert err.startswith("mgdesk: error: no display") and err.count("\n") == 1


def test_grouping_progress_shows_its_stage_and_a_quick_answer_shows_no_bar(capsys):
    from mgdesk.cli import _Progress
    from mgdesk.core.grouping import GroupingProgress

    bar = _Progress("grouping")
    bar(GroupingProgress("verify", 40, 40))
    bar.close()
    err = capsys.readouterr().err
    assert "grouping (verify) [" in err and "40/40" in err
    quick = _Progress("grouping", delay=60.0)
    quick(GroupingProgress("verify", 40, 40))
    quick.close()
    assert capsys.readouterr().err == ""


def test_while_listing_folders_the_scan_counts_what_it_found_without_a_bar(capsys):
    from mgdesk.cli import _Progress
    from mgdesk.core.scanner import ScanProgress

    bar = _Progress("scanning")
    bar(ScanProgress("walk", 400, 0, "/p/a.jpg", 0.0))
    bar.close()
    err = capsys.readouterr().err
    assert "scanning: looking for photos… 400 found" in err and "[" not in err


def test_off_a_terminal_the_scan_logs_each_line_once_and_no_empty_count(capsys):
    from mgdesk.cli import _Progress
    from mgdesk.core.scanner import ScanProgress

    bar = _Progress("scanning")  # stderr is captured: not a terminal
    bar(ScanProgress("walk", 0, 0, None, 0.0))
    bar(ScanProgress("scan", 3, 3, "/p/c.jpg", 0.9))
    bar(ScanProgress("done", 3, 3, None, 0.9))
    bar.close()
    assert capsys.readouterr().err.splitlines() == ["scanning [##############################] 3/3 0.9/s"]


@pytest.mark.parametrize("command", [["status"], ["tags"], ["errors"], ["dupes", "--level", "exact"]])
def test_commands_that_read_the_library_start_without_torch(library, command):
    db, _ = library
    script = ("import sys\nfrom mgdesk.cli import main\n"
              f"code = main({[*command, '--db', str(db)]!r})\n"
              "assert code == 0, code\nassert 'torch' not in sys.modules, 'torch was imported'\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-800:]


def test_an_undo_that_could_restore_only_some_files_counts_what_it_did_and_what_is_left(library, capsys):
    from mgdesk.core.actions import find_in_trash

    db, folder = library
    a, b = folder / SAMPLE[1], folder / SAMPLE[2]
    assert run(capsys, "trash", str(a), str(b), "--db", str(db), "--yes")[0] == 0
    in_trash, info = find_in_trash(b)
    aside = in_trash.with_name("aside.jpg")
    in_trash.rename(aside)  # the user took one out of the trash by hand
    code, out, err = run(capsys, "undo", "--db", str(db))
    assert code == 1 and "restored 1 file:" in out and str(a) in out and "could not restore" in err
    status = json.loads(run(capsys, "status", "--db", str(db), "--json")[1])
    assert status["undo"]["paths"] == [str(b)]
    assert "undo would: put back 1 file moved to the trash" in run(capsys, "status", "--db", str(db))[1]
    aside.rename(in_trash)  # put back where the trash keeps it: undo tries again
    code, out, _ = run(capsys, "undo", "--db", str(db))
    assert code == 0 and "restored 1 file:" in out and str(b) in out and str(a) not in out
    assert a.exists() and b.exists()


def test_a_scan_stopped_by_ctrl_c_exits_130_and_is_on_record_as_cancelled(tmp_path, capsys, monkeypatch):
    import mgdesk.cli as cli

    folder = tmp_path / "photos"
    folder.mkdir()
    for name in SAMPLE:
        shutil.copy2(PHOTOS / name, folder / name)

    def ctrl_c(self, p):
        if getattr(p, "phase", "") == "scan":
            raise KeyboardInterrupt

    monkeypatch.setattr(cli._Progress, "__call__", ctrl_c)
    db = tmp_path / "lib.sqlite"
    code, _, err = run(capsys, "scan", str(folder), "--db", str(db))
    assert code == 130 and "scan interrupted" in err and "error" not in err
    monkeypatch.undo()
    status = json.loads(run(capsys, "status", "--db", str(db), "--json")[1])
    assert status["last_scan"]["cancelled"] is True and status["last_scan"]["finished"] is not None


def test_scan_without_a_path_brings_every_watched_folder_up_to_date(library, capsys, tmp_path):
    db, folder = library
    shutil.copy2(PHOTOS / "set14_img_002.jpg", folder / "new.jpg")
    code, out, _ = run(capsys, "scan", "--db", str(db), "--json")
    assert code == 0 and json.loads(out)["scan"]["new"] == 1
    code, _, err = run(capsys, "scan", "--db", str(tmp_path / "none.sqlite"))
    assert code == 1 and "no library" in err


def test_output_cut_short_by_a_pipe_is_no_error(library):
    db, _ = library
    script = ("import os, sys\nread, write = os.pipe()\nos.close(read)\nos.dup2(write, 1)  # a reader gone\n"
              f"from mgdesk.cli import main\nsys.exit(main(['tags', '--db', {str(db)!r}]))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stderr == ""


def test_scanning_with_a_model_whose_weights_are_missing_writes_nothing(tmp_path, capsys, monkeypatch):
    import mgdesk.core.embedding.weights as weights

    monkeypatch.setattr(weights, "missing_weights", lambda trunk, w: "weights are not installed: pip install x")
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy2(PHOTOS / SAMPLE[0], folder / SAMPLE[0])
    db = tmp_path / "lib.sqlite"
    code, _, err = run(capsys, "scan", str(folder), "--db", str(db))
    assert code == 1 and "pip install x" in err
    monkeypatch.undo()
    with Library(db) as lib:
        assert lib.roots() == [] and lib.repo.last_scan() is None
