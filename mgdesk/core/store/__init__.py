"""SQLite store: the source of truth for files, embeddings, tags, decisions and the action journal."""

from mgdesk.core.store.db import SCHEMA_VERSION, connect, transaction
from mgdesk.core.store.records import (
    ActionItemRecord,
    ActionRecord,
    EmbeddingRecord,
    FileRecord,
    FileStatus,
    NOT_DUPLICATE,
    RootRecord,
    ScanRecord,
)
from mgdesk.core.store.repository import Repository

__all__ = [
    "SCHEMA_VERSION",
    "ActionItemRecord",
    "ActionRecord",
    "EmbeddingRecord",
    "FileRecord",
    "FileStatus",
    "NOT_DUPLICATE",
    "Repository",
    "RootRecord",
    "ScanRecord",
    "connect",
    "transaction",
]
