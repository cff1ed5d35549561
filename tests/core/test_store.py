"""The SQLite store: schema, migrations with backup, records, decisions keyed by content."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import numpy as np
import pytest

from mgdesk.core.store import SCHEMA_VERSION, FileStatus, Repository, connect, transaction
from mgdesk.core.store.db import SchemaTooNewError, run_migrations, schema_version


def test_a_new_database_is_in_wal_mode_with_foreign_keys_and_current_schema(tmp_path):
    db = connect(tmp_path / "lib.sqlite")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] > 0
    assert schema_version(db) == SCHEMA_VERSION
    assert {"files", "embeddings", "tags", "not_duplicates", "verdicts", "actions", "action_items",
            "roots", "scans"} <= set(db.table_names())


def test_a_migration_on_an_existing_database_backs_it_up_first(tmp_path):
    path = tmp_path / "lib.sqlite"
    repo = Repository.open(path)
    repo.insert_file({"path": "/p/a.jpg", "size": 1, "mtime_ns": 1, "status": "ok"})
    repo.close()

    def v_next_add_notes(db):
        db.execute("ALTER TABLE files ADD COLUMN note TEXT")

    from mgdesk.core.store import db as dbmod
    conn = dbmod.connect(path, migrate=False)
    applied = run_migrations(conn, path, migrations=[*dbmod.MIGRATIONS, v_next_add_notes])
    assert applied == ["v_next_add_notes"]
    assert schema_version(conn) == SCHEMA_VERSION + 1
    backups = list(tmp_path.glob(f"lib.sqlite.v{SCHEMA_VERSION}.*.bak"))
    assert len(backups) == 1
    old = sqlite3.connect(backups[0])
    assert old.execute("SELECT path FROM files").fetchall() == [("/p/a.jpg",)]
    assert old.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_database_from_a_newer_version_is_refused(tmp_path):
    path = tmp_path / "lib.sqlite"
    connect(path).execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    with pytest.raises(SchemaTooNewError):
        connect(path)


def test_several_processes_opening_a_new_database_at_once_all_get_the_current_schema(tmp_path):
    # the GUI and a CLI command (or the test watching a scan) may create one library together:
    # each migration is applied once, by whoever takes the write lock first
    path = tmp_path / "lib.sqlite"
    script = ("import sys; from mgdesk.core.store import connect, SCHEMA_VERSION; "
              "from mgdesk.core.store.db import schema_version; "
              f"assert schema_version(connect({str(path)!r})) == SCHEMA_VERSION")
    procs = [subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE) for _ in range(6)]
    errors = [p.communicate(timeout=60)[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, errors
    assert schema_version(connect(path)) == SCHEMA_VERSION


def test_a_failed_transaction_leaves_nothing_behind(tmp_path):
    repo = Repository.open(tmp_path / "lib.sqlite")
    with pytest.raises(RuntimeError):
        with transaction(repo.db):
            repo.insert_file({"path": "/p/a.jpg", "size": 1, "mtime_ns": 1})
            raise RuntimeError("boom")
    assert repo.files() == []


def test_embeddings_of_several_models_coexist_and_round_trip(tmp_path):
    repo = Repository.open(tmp_path / "lib.sqlite")
    fid = repo.insert_file({"path": "/p/a.jpg", "size": 1, "mtime_ns": 1, "status": "ok", "hash": "h"})
    a = np.arange(8, dtype=np.float32) / 10
    repo.put_embedding(fid, "lite0", a, np.stack([a, -a]))
    repo.put_embedding(fid, "lite2", -a)
    ids, vecs = repo.descriptors("lite0")
    assert ids.tolist() == [fid] and np.allclose(vecs[0], a)
    assert np.allclose(repo.embedding(fid, "lite2").descriptor, -a)
    assert np.allclose(repo.embedding(fid, "lite0").views[1], -a, atol=1e-3)
    assert repo.models() == {"lite0": 1, "lite2": 1}
    repo.update_file(fid, status="missing")  # trashed: its embeddings stay for an undo, uncounted
    assert repo.models() == {"lite0": 0, "lite2": 0}
    repo.delete_files([fid])  # cascades
    assert repo.models() == {}


def test_not_duplicate_decisions_are_keyed_by_content_in_either_order(tmp_path):
    repo = Repository.open(tmp_path / "lib.sqlite")
    repo.add_not_duplicate("bbb", "aaa")
    assert repo.is_not_duplicate("aaa", "bbb")
    assert repo.not_duplicate_pairs() == {frozenset({"aaa", "bbb"})}


def test_the_verdict_cache_is_keyed_by_both_hashes_and_the_verifier_version(tmp_path):
    repo = Repository.open(tmp_path / "lib.sqlite")
    repo.put_verdict("b", "a", "v1", {"copy": True, "score": 0.9})
    assert repo.get_verdict("a", "b", "v1") == {"copy": True, "score": 0.9}
    assert repo.get_verdict("a", "b", "v2") is None


def test_the_journal_records_an_action_before_anything_moves(tmp_path):
    repo = Repository.open(tmp_path / "lib.sqlite")
    aid = repo.create_action("trash", None, [("/p/a.jpg", "h1", 10), ("/p/b.jpg", "h2", 20)])
    action = repo.action(aid)
    assert action.state == "pending" and [i.done for i in action.items] == [False, False]
    repo.mark_item(action.items[0].id, done=1, destination_path="/trash/a.jpg")
    repo.set_action_state(aid, "done")
    last = repo.last_undoable_action()
    assert last.id == aid and last.bytes == 10


def test_status_counts_cover_every_status(tmp_path):
    repo = Repository.open(tmp_path / "lib.sqlite")
    repo.insert_file({"path": "/p/a.jpg", "size": 1, "mtime_ns": 1, "status": "ok"})
    repo.insert_file({"path": "/p/b.jpg", "size": 1, "mtime_ns": 1, "status": FileStatus.ERROR})
    assert repo.status_counts() == {"ok": 1, "error": 1, "missing": 0, "pending": 0}


def test_a_version_1_database_is_backed_up_and_gains_the_exif_field_count(tmp_path):
    import sqlite3

    from mgdesk.core.store import db as dbmod

    path = tmp_path / "v1.sqlite"
    raw = connect(path, migrate=False)
    dbmod.run_migrations(raw, path, migrations=dbmod.MIGRATIONS[:1])
    raw.execute("INSERT INTO files (path, folder, size, mtime_ns, status, first_seen, last_seen) "
                "VALUES ('/p/a.jpg', '/p', 1, 1, 'ok', 0, 0)")
    raw.close()
    repo = Repository(connect(path))
    assert schema_version(repo.db) == SCHEMA_VERSION >= 2
    assert repo.file_by_path("/p/a.jpg").exif_fields is None
    backups = list(tmp_path.glob("v1.sqlite.v1.*.bak"))
    assert backups, "the version-1 database was not backed up before migrating"
    assert sqlite3.connect(backups[0]).execute("PRAGMA user_version").fetchone()[0] == 1


def test_the_journal_of_a_v4_library_survives_the_migration_that_makes_not_duplicates_undoable(tmp_path):
    from mgdesk.core.store import db as dbmod

    path = tmp_path / "lib.sqlite"
    old = dbmod.connect(path, migrate=False)
    run_migrations(old, path, migrations=dbmod.MIGRATIONS[:4])
    Repository(old).create_action("trash", None, [("/p/a.jpg", "h1", 10), ("/p/b.jpg", "h2", 20)])
    old.execute("INSERT INTO not_duplicates (hash_a, hash_b, created) VALUES ('h1', 'h3', 0)")
    old.execute("PRAGMA foreign_keys = OFF")  # as some other tool may have written it
    old.execute("INSERT INTO action_items (action_id, original_path) VALUES (999, '/p/orphan.jpg')")
    old.conn.close()

    repo = Repository.open(path)  # migrates to the current version
    (action,) = repo.actions()
    assert action.kind == "trash" and [i.original_path for i in action.items] == ["/p/a.jpg", "/p/b.jpg"]
    assert repo.is_not_duplicate("h1", "h3")
    references = {row[2] for row in repo.db.execute("PRAGMA foreign_key_list(action_items)")}
    assert references == {"actions"}
    later = repo.create_action("not_duplicate", None, [("/p/c.jpg", "h3", 5)])  # the new kind is allowed
    assert repo.db.execute("PRAGMA foreign_key_check").fetchall() == []
    with transaction(repo.db):
        repo.db.execute("DELETE FROM actions WHERE id = ?", (later,))
    assert [i.original_path for i in repo.actions()[0].items] == ["/p/a.jpg", "/p/b.jpg"]
    assert repo.db.execute("SELECT count(*) FROM action_items").fetchone()[0] == 2  # its items went with it
