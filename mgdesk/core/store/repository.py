"""Repository: every SQL statement the engine runs, returning *Record objects.

One writer: the Library (or a scan process) owns the writing connection. Group writes with
`mgdesk.core.store.db.transaction` so each batch is committed whole or not at all.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import sqlite_utils

from mgdesk.core.store.db import connect, transaction
from mgdesk.core.store.records import (
    ActionItemRecord,
    ActionRecord,
    EmbeddingRecord,
    FileRecord,
    FileStatus,
    RootRecord,
    ScanRecord,
)

log = logging.getLogger(__name__)

FILE_COLUMNS = tuple(FileRecord.__dataclass_fields__)
_CHUNK = 500  # stay well under SQLite's bound-parameter limit


def _chunks(items: Sequence, size: int = _CHUNK) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def pair_key(hash_a: str, hash_b: str) -> tuple[str, str]:
    """Order-independent key of a pair of content hashes."""
    return (hash_a, hash_b) if hash_a <= hash_b else (hash_b, hash_a)


class Repository:
    """Typed access to the library database."""

    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    @classmethod
    def open(cls, path: Path | str) -> Repository:
        return cls(connect(path))

    def close(self) -> None:
        self.db.conn.close()

    def transaction(self):
        return transaction(self.db)

    def _rows(self, sql: str, params: Sequence | dict = ()) -> list[dict]:
        cur = self.db.execute(sql, params)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]

    # ---- files ---------------------------------------------------------------------------
    def file(self, file_id: int) -> FileRecord | None:
        rows = self._rows("SELECT * FROM files WHERE id = ?", (file_id,))
        return FileRecord.from_row(rows[0]) if rows else None

    def file_by_path(self, path: str) -> FileRecord | None:
        rows = self._rows("SELECT * FROM files WHERE path = ?", (path,))
        return FileRecord.from_row(rows[0]) if rows else None

    def files(self, status: FileStatus | str | None = None) -> list[FileRecord]:
        if status is None:
            rows = self._rows("SELECT * FROM files ORDER BY path")
        else:
            rows = self._rows("SELECT * FROM files WHERE status = ? ORDER BY path", (FileStatus(status).value,))
        return [FileRecord.from_row(r) for r in rows]

    def files_by_ids(self, ids: Iterable[int]) -> dict[int, FileRecord]:
        out: dict[int, FileRecord] = {}
        for chunk in _chunks(list(ids)):
            marks = ",".join("?" * len(chunk))
            for r in self._rows(f"SELECT * FROM files WHERE id IN ({marks})", list(chunk)):
                out[r["id"]] = FileRecord.from_row(r)
        return out

    def files_under(self, roots: Sequence[str]) -> list[FileRecord]:
        """Every known file below any of the roots, or that is one (a photo added on its own), any status."""
        out = []
        for root in roots:
            prefix = root.rstrip(os.sep) + os.sep
            # Range on the primary text index rather than LIKE (paths may contain % and _).
            rows = self._rows("SELECT * FROM files WHERE (path >= ? AND path < ?) OR path = ?",
                              (prefix, prefix[:-1] + chr(ord(os.sep) + 1), root))
            out.extend(FileRecord.from_row(r) for r in rows)
        seen: set[int] = set()
        return [f for f in out if not (f.id in seen or seen.add(f.id))]

    def files_by_inode(self, dev: int, ino: int) -> list[FileRecord]:
        return [FileRecord.from_row(r) for r in self._rows(
            "SELECT * FROM files WHERE dev = ? AND ino = ? AND status != 'missing'", (dev, ino))]

    def files_by_hash(self, content_hash: str) -> list[FileRecord]:
        return [FileRecord.from_row(r) for r in self._rows(
            "SELECT * FROM files WHERE hash = ? ORDER BY path", (content_hash,))]

    def files_in_folder(self, folder: str) -> list[FileRecord]:
        return [FileRecord.from_row(r) for r in self._rows(
            "SELECT * FROM files WHERE folder = ? ORDER BY path", (folder,))]

    def insert_file(self, values: dict[str, Any]) -> int:
        now = time.time()
        row = {"status": FileStatus.PENDING.value, "first_seen": now, "last_seen": now, **values}
        row["status"] = FileStatus(row["status"]).value
        row.setdefault("folder", str(Path(row["path"]).parent))
        cols = [c for c in row if c in FILE_COLUMNS and c != "id"]
        cur = self.db.execute(
            f"INSERT INTO files ({','.join(cols)}) VALUES ({','.join('?' * len(cols))})",
            [row[c] for c in cols])
        return int(cur.lastrowid)

    def update_file(self, file_id: int, **values: Any) -> None:
        if "status" in values:
            values["status"] = FileStatus(values["status"]).value
        if "path" in values and "folder" not in values:
            values["folder"] = str(Path(values["path"]).parent)
        values.setdefault("last_seen", time.time())
        bad = set(values) - set(FILE_COLUMNS)
        if bad:
            raise ValueError(f"unknown file columns: {sorted(bad)}")
        sets = ", ".join(f"{c} = ?" for c in values)
        self.db.execute(f"UPDATE files SET {sets} WHERE id = ?", [*values.values(), file_id])

    def set_status(self, file_ids: Iterable[int], status: FileStatus | str) -> None:
        status = FileStatus(status).value
        for chunk in _chunks(list(file_ids)):
            marks = ",".join("?" * len(chunk))
            self.db.execute(f"UPDATE files SET status = ? WHERE id IN ({marks})", [status, *chunk])

    def delete_files(self, file_ids: Iterable[int]) -> None:
        for chunk in _chunks(list(file_ids)):
            marks = ",".join("?" * len(chunk))
            self.db.execute(f"DELETE FROM files WHERE id IN ({marks})", list(chunk))

    def status_counts(self) -> dict[str, int]:
        counts = {s.value: 0 for s in FileStatus}
        for status, n in self.db.execute("SELECT status, COUNT(*) FROM files GROUP BY status"):
            counts[status] = n
        return counts

    def exact_groups(self) -> list[list[FileRecord]]:
        """Files with identical content (same full hash), ok or error status, 2+ per group."""
        rows = self._rows(
            "SELECT * FROM files WHERE status IN ('ok','error') AND hash IN ("
            " SELECT hash FROM files WHERE status IN ('ok','error') AND hash IS NOT NULL"
            " GROUP BY hash HAVING COUNT(*) > 1) ORDER BY hash, path")
        groups: dict[str, list[FileRecord]] = {}
        for r in rows:
            groups.setdefault(r["hash"], []).append(FileRecord.from_row(r))
        return list(groups.values())

    # ---- embeddings ----------------------------------------------------------------------
    def put_embedding(self, file_id: int, model: str, descriptor: np.ndarray,
                      views: np.ndarray | None = None) -> None:
        d = np.ascontiguousarray(descriptor, dtype=np.float32).reshape(-1)
        v = None if views is None else np.ascontiguousarray(views, dtype=np.float16).reshape(-1, d.size)
        self.db.execute(
            "INSERT OR REPLACE INTO embeddings (file_id, model, dim, dtype, descriptor, n_views, views, created)"
            " VALUES (?,?,?,?,?,?,?,?)",
            (file_id, model, d.size, "float32", d.tobytes(), 0 if v is None else v.shape[0],
             None if v is None else v.tobytes(), time.time()))

    def copy_embedding(self, from_file: int, to_file: int, model: str) -> bool:
        cur = self.db.execute(
            "INSERT OR REPLACE INTO embeddings (file_id, model, dim, dtype, descriptor, n_views, views, created)"
            " SELECT ?, model, dim, dtype, descriptor, n_views, views, created FROM embeddings"
            " WHERE file_id = ? AND model = ?", (to_file, from_file, model))
        return cur.rowcount > 0

    def delete_embedding(self, file_id: int, model: str | None = None) -> None:
        if model is None:
            self.db.execute("DELETE FROM embeddings WHERE file_id = ?", (file_id,))
        else:
            self.db.execute("DELETE FROM embeddings WHERE file_id = ? AND model = ?", (file_id, model))

    @staticmethod
    def _decode(row: dict) -> EmbeddingRecord:
        d = np.frombuffer(row["descriptor"], dtype=row["dtype"]).astype(np.float32)
        views = None
        if row["views"] is not None and row["n_views"]:
            views = np.frombuffer(row["views"], dtype=np.float16).astype(np.float32).reshape(row["n_views"], row["dim"])
        return EmbeddingRecord(row["file_id"], row["model"], d, views, row["created"])

    def embedding(self, file_id: int, model: str) -> EmbeddingRecord | None:
        rows = self._rows("SELECT * FROM embeddings WHERE file_id = ? AND model = ?", (file_id, model))
        return self._decode(rows[0]) if rows else None

    def embedded_file_with_hash(self, content_hash: str, model: str, *, n_views: int = 0
                                ) -> int | None:
        """A file with this content that already has an embedding for the model (to reuse it);
        with `n_views`, only one whose embedding carries that many rotated views."""
        views, params = (" AND e.n_views = ?", [model, int(n_views)]) if n_views else ("", [model])
        row = self.db.execute(
            "SELECT f.id FROM files f JOIN embeddings e ON e.file_id = f.id AND e.model = ?" + views +
            " WHERE f.hash = ? LIMIT 1", (*params, content_hash)).fetchone()
        return None if row is None else int(row[0])

    def descriptors(self, model: str, *, status: str = "ok") -> tuple[np.ndarray, np.ndarray]:
        """(ids int64 (n,), descriptors float32 (n, dim)) of the model, for files with the status."""
        cur = self.db.execute(
            "SELECT e.file_id, e.dim, e.dtype, e.descriptor FROM embeddings e JOIN files f ON f.id = e.file_id"
            " WHERE e.model = ? AND f.status = ? ORDER BY e.file_id", (model, status))
        ids, vecs, dim = [], [], 0
        for file_id, d, dtype, blob in cur:
            ids.append(file_id)
            vecs.append(np.frombuffer(blob, dtype=dtype))
            dim = d
        if not ids:
            return np.zeros(0, np.int64), np.zeros((0, dim), np.float32)
        return np.asarray(ids, np.int64), np.vstack(vecs).astype(np.float32)

    def views(self, file_ids: Iterable[int], model: str) -> Iterator[tuple[int, np.ndarray]]:
        """(file id, (n_views, dim) float32) of the files that have views, a chunk at a time, so a
        caller can keep them compactly rather than all at once in float32."""
        for chunk in _chunks(list(file_ids)):
            marks = ",".join("?" * len(chunk))
            for r in self._rows(f"SELECT * FROM embeddings WHERE model = ? AND file_id IN ({marks})",
                                [model, *chunk]):
                rec = self._decode(r)
                if rec.views is not None:
                    yield rec.file_id, rec.views

    def ids_with_embedding(self, model: str, ids: Sequence[int]) -> set[int]:
        """Of these files (any status), those with an embedding for the model."""
        out: set[int] = set()
        for chunk in _chunks(list(ids)):
            marks = ",".join("?" * len(chunk))
            out.update(r[0] for r in self.db.execute(
                f"SELECT file_id FROM embeddings WHERE model = ? AND file_id IN ({marks})", [model, *chunk]))
        return out

    def ids_with_other_views(self, model: str, n_views: int) -> set[int]:
        """Files whose embedding for the model carries another number of rotated views than
        `n_views` (embedded before the model's card asked for these)."""
        return {r[0] for r in self.db.execute(
            "SELECT file_id FROM embeddings WHERE model = ? AND COALESCE(n_views, 0) != ?",
            (model, n_views))}

    def models(self) -> dict[str, int]:
        """Photos in the library (status ok) embedded per model. Embeddings kept for files that are
        missing (trashed, so an undo need not embed them again) are not counted: the figure is
        what search and grouping see, as the index's size is."""
        return {m: int(n) for m, n in self.db.execute(
            "SELECT e.model, SUM(f.status = 'ok') FROM embeddings e JOIN files f ON f.id = e.file_id"
            " GROUP BY e.model")}

    def files_without_embedding(self, model: str) -> list[FileRecord]:
        return [FileRecord.from_row(r) for r in self._rows(
            "SELECT f.* FROM files f WHERE f.status = 'ok' AND NOT EXISTS ("
            " SELECT 1 FROM embeddings e WHERE e.file_id = f.id AND e.model = ?) ORDER BY f.path", (model,))]

    # ---- tags ----------------------------------------------------------------------------
    def replace_tags(self, file_id: int, model: str, tags: Iterable[tuple[int, str, float]]) -> None:
        self.db.execute("DELETE FROM tags WHERE file_id = ? AND model = ?", (file_id, model))
        self.db.conn.executemany(
            "INSERT INTO tags (file_id, model, class_index, label, score) VALUES (?,?,?,?,?)",
            [(file_id, model, int(i), label, float(s)) for i, label, s in tags])

    def copy_tags(self, from_file: int, to_file: int, model: str) -> None:
        self.db.execute("DELETE FROM tags WHERE file_id = ? AND model = ?", (to_file, model))
        self.db.execute("INSERT INTO tags (file_id, model, class_index, label, score)"
                        " SELECT ?, model, class_index, label, score FROM tags WHERE file_id = ? AND model = ?",
                        (to_file, from_file, model))

    def tag_counts(self, model: str) -> list[tuple[str, int]]:
        return [(label, n) for label, n in self.db.execute(
            "SELECT t.label, COUNT(*) AS n FROM tags t JOIN files f ON f.id = t.file_id"
            " WHERE t.model = ? AND f.status = 'ok' GROUP BY t.label ORDER BY n DESC, t.label", (model,))]

    def files_with_tag(self, model: str, label: str) -> list[tuple[FileRecord, float]]:
        rows = self._rows(
            "SELECT f.*, t.score AS tag_score FROM tags t JOIN files f ON f.id = t.file_id"
            " WHERE t.model = ? AND lower(t.label) = lower(?) AND f.status = 'ok' ORDER BY t.score DESC",
            (model, label))
        return [(FileRecord.from_row(r), r["tag_score"]) for r in rows]

    def tags_in_folder(self, model: str, folder: str) -> tuple[int, list[tuple[int, str, float]]]:
        """(number of ok photos in the folder, their (file_id, label, score) tags)."""
        n = self.db.execute("SELECT COUNT(*) FROM files WHERE folder = ? AND status = 'ok'", (folder,)).fetchone()[0]
        rows = self.db.execute(
            "SELECT t.file_id, t.label, t.score FROM tags t JOIN files f ON f.id = t.file_id"
            " WHERE t.model = ? AND f.folder = ? AND f.status = 'ok'", (model, folder)).fetchall()
        return int(n), [(int(a), b, float(c)) for a, b, c in rows]

    # ---- decisions -----------------------------------------------------------------------
    def add_not_duplicate(self, hash_a: str, hash_b: str, action_id: int | None = None) -> bool:
        """Remember a pair as not duplicates; False when it already was (its first action keeps it)."""
        if hash_a == hash_b:
            return False  # identical content is a duplicate by definition
        a, b = pair_key(hash_a, hash_b)
        cur = self.db.execute("INSERT OR IGNORE INTO not_duplicates (hash_a, hash_b, created, action_id)"
                              " VALUES (?,?,?,?)", (a, b, time.time(), action_id))
        return cur.rowcount > 0

    def forget_not_duplicates(self, action_id: int) -> int:
        """Undo of a "not duplicates" action: the pairs it added may be grouped again."""
        return self.db.execute("DELETE FROM not_duplicates WHERE action_id = ?", (action_id,)).rowcount

    def not_duplicate_count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM not_duplicates").fetchone()[0])

    def not_duplicate_pairs(self) -> set[frozenset[str]]:
        return {frozenset(r) for r in self.db.execute("SELECT hash_a, hash_b FROM not_duplicates")}

    def is_not_duplicate(self, hash_a: str, hash_b: str) -> bool:
        a, b = pair_key(hash_a, hash_b)
        return self.db.execute("SELECT 1 FROM not_duplicates WHERE hash_a = ? AND hash_b = ?",
                               (a, b)).fetchone() is not None

    def add_decision(self, content_hash: str, decision: str, path: str | None = None,
                     action_id: int | None = None) -> None:
        self.db.execute("INSERT INTO decisions (hash, decision, path, action_id, created) VALUES (?,?,?,?,?)",
                        (content_hash, decision, path, action_id, time.time()))

    def decisions(self, content_hash: str) -> list[dict]:
        return self._rows("SELECT * FROM decisions WHERE hash = ? ORDER BY id", (content_hash,))

    def deciders(self, decision: str, path: str, action_id: int) -> list[str]:
        """Contents with a decision about one journaled path (e.g. the copies kept for it)."""
        return [r["hash"] for r in self._rows(
            "SELECT hash FROM decisions WHERE decision = ? AND path = ? AND action_id = ?",
            (decision, path, action_id))]

    # ---- verdict cache (grouping's VerdictCache; also other answers about a pair of contents,
    # such as resave.RESAVE_VERSION: whether one file only re-saves the other's pixels) -------
    def get_verdict(self, hash_a: str, hash_b: str, version: str) -> Any | None:
        a, b = pair_key(hash_a, hash_b)
        row = self.db.execute("SELECT verdict FROM verdicts WHERE hash_a = ? AND hash_b = ? AND version = ?",
                              (a, b, version)).fetchone()
        return None if row is None else json.loads(row[0])

    def put_verdict(self, hash_a: str, hash_b: str, version: str, verdict: Any) -> None:
        a, b = pair_key(hash_a, hash_b)
        self.db.execute("INSERT OR REPLACE INTO verdicts (hash_a, hash_b, version, verdict, created)"
                        " VALUES (?,?,?,?,?)", (a, b, version, json.dumps(verdict), time.time()))

    # ---- action journal ------------------------------------------------------------------
    def create_action(self, kind: str, destination: str | None,
                      items: Sequence[tuple[str, str | None, int | None]]) -> int:
        """Journal an action and its (path, hash, size) items BEFORE anything moves."""
        with self.transaction():
            cur = self.db.execute("INSERT INTO actions (kind, destination, state, created) VALUES (?,?,?,?)",
                                  (kind, destination, "pending", time.time()))
            action_id = int(cur.lastrowid)
            self.db.conn.executemany(
                "INSERT INTO action_items (action_id, original_path, hash, size) VALUES (?,?,?,?)",
                [(action_id, p, h, s) for p, h, s in items])
        return action_id

    def mark_item(self, item_id: int, **values: Any) -> None:
        allowed = {"destination_path", "trash_info", "done", "undone", "error", "restored_path"}
        if set(values) - allowed:
            raise ValueError(f"unknown action item columns: {sorted(set(values) - allowed)}")
        sets = ", ".join(f"{c} = ?" for c in values)
        self.db.execute(f"UPDATE action_items SET {sets} WHERE id = ?", [*values.values(), item_id])

    def mark_action_items(self, action_id: int, **values: Any) -> None:
        """Every item of one action at once (a "not duplicates" is done, or undone, whole)."""
        if set(values) - {"done", "undone"}:
            raise ValueError(f"only done/undone apply to a whole action: {sorted(values)}")
        sets = ", ".join(f"{c} = ?" for c in values)
        self.db.execute(f"UPDATE action_items SET {sets} WHERE action_id = ?", [*values.values(), action_id])

    def set_action_state(self, action_id: int, state: str) -> None:
        col = "undone_at" if state == "undone" else "finished"
        self.db.execute(f"UPDATE actions SET state = ?, {col} = ? WHERE id = ?", (state, time.time(), action_id))

    def action(self, action_id: int) -> ActionRecord | None:
        rows = self._rows("SELECT * FROM actions WHERE id = ?", (action_id,))
        if not rows:
            return None
        items = tuple(
            ActionItemRecord(r["id"], r["action_id"], r["original_path"], r["destination_path"],
                             r["trash_info"], r["hash"], r["size"], bool(r["done"]), bool(r["undone"]), r["error"],
                             r["restored_path"])
            for r in self._rows("SELECT * FROM action_items WHERE action_id = ? ORDER BY id", (action_id,)))
        a = rows[0]
        return ActionRecord(a["id"], a["kind"], a["destination"], a["state"], a["created"], a["finished"],
                            a["undone_at"], items)

    def actions(self, states: Sequence[str] | None = None) -> list[ActionRecord]:
        if states:
            marks = ",".join("?" * len(states))
            ids = [r[0] for r in self.db.execute(
                f"SELECT id FROM actions WHERE state IN ({marks}) ORDER BY id DESC", list(states))]
        else:
            ids = [r[0] for r in self.db.execute("SELECT id FROM actions ORDER BY id DESC")]
        return [a for a in (self.action(i) for i in ids) if a is not None]

    def last_undoable_action(self) -> ActionRecord | None:
        row = self.db.execute("SELECT id FROM actions WHERE state IN ('done','interrupted')"
                              " ORDER BY id DESC LIMIT 1").fetchone()
        return None if row is None else self.action(row[0])

    # ---- roots and scans -----------------------------------------------------------------
    def add_root(self, path: str) -> None:
        self.db.execute("INSERT OR IGNORE INTO roots (path, paused, added) VALUES (?,?,?)", (path, 0, time.time()))

    def set_root_paused(self, path: str, paused: bool) -> None:
        self.db.execute("UPDATE roots SET paused = ? WHERE path = ?", (int(paused), path))

    def remove_root(self, path: str) -> None:
        self.db.execute("DELETE FROM roots WHERE path = ?", (path,))

    def roots(self) -> list[RootRecord]:
        return [RootRecord(p, bool(z), a) for p, z, a in self.db.execute(
            "SELECT path, paused, added FROM roots ORDER BY path")]

    def start_scan(self, roots: Sequence[str], model: str) -> int:
        cur = self.db.execute("INSERT INTO scans (roots, model, started) VALUES (?,?,?)",
                              (json.dumps(list(roots)), model, time.time()))
        return int(cur.lastrowid)

    def finish_scan(self, scan_id: int, counts: dict, cancelled: bool) -> None:
        self.db.execute("UPDATE scans SET finished = ?, cancelled = ?, counts = ? WHERE id = ?",
                        (time.time(), int(cancelled), json.dumps(counts), scan_id))

    def cancel_scan(self, scan_id: int) -> None:
        """A scan stopped by an interrupt (Ctrl+C) or an error never reached finish_scan: on record
        it was cancelled."""
        self.db.execute("UPDATE scans SET finished = ?, cancelled = 1 WHERE id = ? AND finished IS NULL",
                        (time.time(), scan_id))

    def last_scan(self) -> ScanRecord | None:
        rows = self._rows("SELECT * FROM scans ORDER BY id DESC LIMIT 1")
        if not rows:
            return None
        r = rows[0]
        return ScanRecord(r["id"], tuple(json.loads(r["roots"])), r["model"], r["started"], r["finished"],
                          bool(r["cancelled"]), json.loads(r["counts"]) if r["counts"] else {})

    # ---- whitening -----------------------------------------------------------------------
    def put_whitening(self, model: str, n_fit: int, blob: bytes) -> None:
        self.db.execute("INSERT OR REPLACE INTO whitening (model, n_fit, blob, created) VALUES (?,?,?,?)",
                        (model, n_fit, blob, time.time()))

    def whitening(self, model: str) -> tuple[int, bytes] | None:
        row = self.db.execute("SELECT n_fit, blob FROM whitening WHERE model = ?", (model,)).fetchone()
        return None if row is None else (int(row[0]), bytes(row[1]))

    def integrity_ok(self) -> bool:
        return self.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


__all__ = ["FILE_COLUMNS", "Repository", "pair_key"]
