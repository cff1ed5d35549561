"""Opening the SQLite file (WAL, foreign keys, busy timeout) and its named, numbered migrations."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import sqlite_utils

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000


def _v1_initial_schema(db: sqlite_utils.Database) -> None:
    """Files, per-model embeddings and tags, decisions, verdict cache, journal, roots, scans."""
    db.execute(
        """
        CREATE TABLE files (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL UNIQUE,
            folder TEXT NOT NULL,
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            dev INTEGER,
            ino INTEGER,
            partial_hash TEXT,
            hash TEXT,
            width INTEGER,
            height INTEGER,
            format TEXT,
            captured TEXT,
            camera TEXT,
            orientation INTEGER,
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('ok', 'error', 'missing', 'pending')),
            error_reason TEXT,
            error_message TEXT,
            first_seen REAL NOT NULL,
            last_seen REAL NOT NULL
        )"""
    )
    db.execute("CREATE INDEX files_hash ON files(hash)")
    db.execute("CREATE INDEX files_folder ON files(folder)")
    db.execute("CREATE INDEX files_status ON files(status)")
    db.execute("CREATE INDEX files_inode ON files(dev, ino)")
    db.execute(
        """
        CREATE TABLE embeddings (
            file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
            model TEXT NOT NULL,
            dim INTEGER NOT NULL,
            dtype TEXT NOT NULL,
            descriptor BLOB NOT NULL,
            n_views INTEGER NOT NULL DEFAULT 0,
            views BLOB,
            created REAL NOT NULL,
            PRIMARY KEY (file_id, model)
        )"""
    )
    db.execute("CREATE INDEX embeddings_model ON embeddings(model)")
    db.execute(
        """
        CREATE TABLE tags (
            file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
            model TEXT NOT NULL,
            class_index INTEGER NOT NULL,
            label TEXT NOT NULL,
            score REAL NOT NULL,
            PRIMARY KEY (file_id, model, class_index)
        )"""
    )
    db.execute("CREATE INDEX tags_label ON tags(model, label)")
    # Decisions are keyed by content hash so they survive rescans, renames and moves.
    db.execute(
        """
        CREATE TABLE not_duplicates (
            hash_a TEXT NOT NULL,
            hash_b TEXT NOT NULL,
            created REAL NOT NULL,
            PRIMARY KEY (hash_a, hash_b),
            CHECK (hash_a < hash_b)
        )"""
    )
    db.execute(
        """
        CREATE TABLE decisions (
            id INTEGER PRIMARY KEY,
            hash TEXT NOT NULL,
            decision TEXT NOT NULL CHECK (decision IN ('kept', 'removed')),
            path TEXT,
            action_id INTEGER,
            created REAL NOT NULL
        )"""
    )
    db.execute("CREATE INDEX decisions_hash ON decisions(hash)")
    db.execute(
        """
        CREATE TABLE verdicts (
            hash_a TEXT NOT NULL,
            hash_b TEXT NOT NULL,
            version TEXT NOT NULL,
            verdict TEXT NOT NULL,
            created REAL NOT NULL,
            PRIMARY KEY (hash_a, hash_b, version)
        )"""
    )
    db.execute(
        """
        CREATE TABLE actions (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('trash', 'move')),
            destination TEXT,
            state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'interrupted', 'undone')),
            created REAL NOT NULL,
            finished REAL,
            undone_at REAL
        )"""
    )
    db.execute(
        """
        CREATE TABLE action_items (
            id INTEGER PRIMARY KEY,
            action_id INTEGER NOT NULL REFERENCES actions(id) ON DELETE CASCADE,
            original_path TEXT NOT NULL,
            destination_path TEXT,
            trash_info TEXT,
            hash TEXT,
            size INTEGER,
            done INTEGER NOT NULL DEFAULT 0,
            undone INTEGER NOT NULL DEFAULT 0,
            error TEXT
        )"""
    )
    db.execute("CREATE INDEX action_items_action ON action_items(action_id)")
    db.execute(
        """
        CREATE TABLE roots (
            path TEXT PRIMARY KEY,
            paused INTEGER NOT NULL DEFAULT 0,
            added REAL NOT NULL
        )"""
    )
    db.execute(
        """
        CREATE TABLE scans (
            id INTEGER PRIMARY KEY,
            roots TEXT NOT NULL,
            model TEXT NOT NULL,
            started REAL NOT NULL,
            finished REAL,
            cancelled INTEGER NOT NULL DEFAULT 0,
            counts TEXT
        )"""
    )
    db.execute(
        """
        CREATE TABLE whitening (
            model TEXT PRIMARY KEY,
            n_fit INTEGER NOT NULL,
            blob BLOB NOT NULL,
            created REAL NOT NULL
        )"""
    )


Migration = Callable[[sqlite_utils.Database], None]

# Append only: never edit or reorder a released migration. user_version = number applied.
def _v2_exif_fields(db: sqlite_utils.Database) -> None:
    """How many EXIF fields a file has: keep-best prefers the copy with the richer metadata."""
    db.execute("ALTER TABLE files ADD COLUMN exif_fields INTEGER")


def _v3_shot(db: sqlite_utils.Database) -> None:
    """The capture signature (mgdesk.core.shots): burst frames and brackets are not copies.
    Files scanned before it have none until they change; a rescan of a changed file fills it."""
    db.execute("ALTER TABLE files ADD COLUMN shot TEXT")


def _v4_restored_path(db: sqlite_utils.Database) -> None:
    """Where undo put a file back: beside its old path, under a free name, when another file
    had taken that path meanwhile (the user must be told which name it has now)."""
    db.execute("ALTER TABLE action_items ADD COLUMN restored_path TEXT")


def _v5_undoable_not_duplicates(db: sqlite_utils.Database) -> None:
    """"Not duplicates" is a journaled action like a trash, so Ctrl+Z / `mgdesk undo` takes back
    the last thing the user did, whichever it was; each pair remembers the action that added it.

    SQLite cannot change a CHECK in place, and dropping `actions` while `action_items` refers to it
    would cascade-delete the journal; so both are copied to new tables (inside the migration's
    transaction, foreign keys on), the old ones dropped child first, the new ones renamed."""
    db.execute("""
        CREATE TABLE actions_v5 (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('trash', 'move', 'not_duplicate')),
            destination TEXT,
            state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'interrupted', 'undone')),
            created REAL NOT NULL,
            finished REAL,
            undone_at REAL
        )""")
    db.execute("""
        CREATE TABLE action_items_v5 (
            id INTEGER PRIMARY KEY,
            action_id INTEGER NOT NULL REFERENCES actions_v5(id) ON DELETE CASCADE,
            original_path TEXT NOT NULL,
            destination_path TEXT,
            trash_info TEXT,
            hash TEXT,
            size INTEGER,
            done INTEGER NOT NULL DEFAULT 0,
            undone INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            restored_path TEXT
        )""")
    db.execute("INSERT INTO actions_v5 SELECT id, kind, destination, state, created, finished, undone_at"
               " FROM actions")
    # an item whose action is gone (only a write with foreign keys off leaves one) has nothing to
    # undo with: copying it would fail the migration, and with it every opening of the library
    db.execute("INSERT INTO action_items_v5 SELECT id, action_id, original_path, destination_path, trash_info,"
               " hash, size, done, undone, error, restored_path FROM action_items"
               " WHERE action_id IN (SELECT id FROM actions)")
    db.execute("DROP TABLE action_items")
    db.execute("DROP TABLE actions")
    db.execute("ALTER TABLE actions_v5 RENAME TO actions")  # action_items_v5 now refers to `actions`
    db.execute("ALTER TABLE action_items_v5 RENAME TO action_items")
    db.execute("CREATE INDEX action_items_action ON action_items(action_id)")
    db.execute("ALTER TABLE not_duplicates ADD COLUMN action_id INTEGER")


MIGRATIONS: list[Migration] = [_v1_initial_schema, _v2_exif_fields, _v3_shot, _v4_restored_path,
                               _v5_undoable_not_duplicates]
SCHEMA_VERSION = len(MIGRATIONS)


class SchemaTooNewError(RuntimeError):
    """The database was written by a newer mgdesk; refuse rather than damage it."""


def connect(path: Path | str, *, migrate: bool = True, readonly: bool = False) -> sqlite_utils.Database:
    """Open the library database; migrate it to SCHEMA_VERSION, backing it up first if it has data.

    The connection is in autocommit mode: group writes with `transaction(db)` so a batch is
    committed whole or not at all.
    """
    path = Path(path)
    if readonly:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None,
                               check_same_thread=False)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    if not readonly:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
    db = sqlite_utils.Database(conn)
    if migrate and not readonly:
        run_migrations(db, path)
    return db


def schema_version(db: sqlite_utils.Database) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def backup(db: sqlite_utils.Database, path: Path, version: int) -> Path:
    """Copy the live database (consistent snapshot through the backup API) next to it."""
    target = path.with_name(f"{path.name}.v{version}.{time.strftime('%Y%m%d-%H%M%S')}.bak")
    n = 1
    while target.exists():
        target = path.with_name(f"{path.name}.v{version}.{time.strftime('%Y%m%d-%H%M%S')}-{n}.bak")
        n += 1
    dest = sqlite3.connect(str(target))
    try:
        db.conn.backup(dest)
    finally:
        dest.close()
    log.info("backed up %s to %s before migrating", path, target)
    return target


def run_migrations(db: sqlite_utils.Database, path: Path | None = None,
                   migrations: list[Migration] | None = None) -> list[str]:
    """Apply the pending migrations, each in its own transaction; returns their names.

    Several processes may open a new library at once (the GUI and a CLI command): each one
    re-reads the version once it holds the write lock, so a migration runs exactly once."""
    migrations = MIGRATIONS if migrations is None else migrations
    current = schema_version(db)
    if current > len(migrations):
        raise SchemaTooNewError(
            f"database schema v{current} is newer than this mgdesk understands (v{len(migrations)})")
    pending = list(enumerate(migrations))[current:]
    if not pending:
        return []
    has_data = bool(db.table_names())
    if has_data and path is not None:
        backup(db, path, current)
    applied = []
    for number, migration in pending:
        with transaction(db):
            if schema_version(db) > number:  # another process applied it while we waited
                continue
            migration(db)
            db.execute(f"PRAGMA user_version = {number + 1}")
        log.info("applied migration %d %s", number + 1, migration.__name__)
        applied.append(migration.__name__)
    return applied


@contextlib.contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """One write transaction (BEGIN IMMEDIATE … COMMIT); rolls back on any exception."""
    conn = db.conn
    if conn.in_transaction:  # nested: the outer transaction owns commit/rollback
        yield db
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
