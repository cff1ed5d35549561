import json
import shutil

import pytest

from mgdesk.cli import main
from mgdesk.core.embedding import load_card


def test_mgdesk_train_fine_tunes_the_library_and_writes_a_model(photos, tmp_path, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    for p in photos[:9]:
        shutil.copy(p, folder)
    db = str(tmp_path / "lib.sqlite")
    assert main(["scan", str(folder), "--db", db]) == 0
    capsys.readouterr()

    rc = main(["train", "--db", db, "--name", "mine", "--epochs", "1", "--batch-size", "6", "--size", "96",
               "--jsonl-progress"])
    out = capsys.readouterr().out
    assert rc == 0
    events = [json.loads(line) for line in out.splitlines()]
    assert {e["phase"] for e in events if e["event"] == "progress"} == {"labels", "train"}
    done = events[-1]
    assert done["event"] == "done" and done["model"] == "mine" and done["photos"] == 9
    assert done["steps"] == 5  # 9 photos x 3 augmentations in batches of 6
    card = load_card("mine")
    assert card.extra["fine_tuned"]["base"] == "lite0" and card.weights == done["weights"]

    rc = main(["train", "--db", db, "--name", "mine", "--epochs", "1"])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and err.count("\n") == 0 and "already exists" in err


def test_mgdesk_train_on_a_nearly_empty_library_is_a_one_line_error(tmp_path, capsys):
    from mgdesk.core.service import Library

    with Library(tmp_path / "empty.sqlite"):  # a library with nothing scanned into it
        pass
    rc = main(["train", "--db", str(tmp_path / "empty.sqlite")])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and err.count("\n") == 0
    assert "0 photo(s)" in err and "at least 8" in err and "mgdesk scan" in err


def test_mgdesk_train_rejects_bad_settings_in_one_line(tmp_path, capsys):
    rc = main(["train", "--db", str(tmp_path / "x.sqlite"), "--name", "a/b"])
    assert rc == 1 and "invalid model name" in capsys.readouterr().err
