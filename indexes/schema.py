"""The store's SQLite schema, and how its rows become document and chunk records."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from indexes.records import ChunkRecord, DocumentRecord, VersionEnd, VersionRecord
from indexes.sqlite_open import write_transaction

SCHEMA_VERSION = "2"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    source_path TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    mime TEXT NOT NULL,
    language TEXT NOT NULL,
    pages INTEGER,
    ingested_at TEXT NOT NULL,
    version INTEGER NOT NULL,
    groups TEXT NOT NULL DEFAULT '[]',
    source_modified_at TEXT,
    owner TEXT NOT NULL DEFAULT '',
    effective_date TEXT,
    expiry_date TEXT,
    tags TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY AUTOINCREMENT,
    chunk_id TEXT NOT NULL UNIQUE,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    text TEXT NOT NULL,
    page INTEGER,
    page_end INTEGER,
    section TEXT NOT NULL,
    kind TEXT NOT NULL,
    language TEXT NOT NULL,
    embedding BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
-- Every version ever stored; `ended` (replaced, retired, deleted) is NULL for the current one.
CREATE TABLE IF NOT EXISTS versions (
    doc_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    source_path TEXT NOT NULL,
    title TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    mime TEXT NOT NULL,
    language TEXT NOT NULL,
    pages INTEGER,
    ingested_at TEXT NOT NULL,
    groups TEXT NOT NULL,
    source_modified_at TEXT,
    chunk_count INTEGER NOT NULL,
    ended TEXT,
    ended_at TEXT,
    PRIMARY KEY (doc_id, version)
);
-- The text of chunks no longer searched (no vectors, no keyword terms), so an audit record's
-- citation of an older version still resolves to what the answer was drawn from.
CREATE TABLE IF NOT EXISTS archived_chunks (
    chunk_id TEXT PRIMARY KEY,
    doc_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    ordinal INTEGER NOT NULL,
    text TEXT NOT NULL,
    page INTEGER,
    page_end INTEGER,
    section TEXT NOT NULL,
    kind TEXT NOT NULL,
    language TEXT NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_terms
    USING fts5(terms, tokenize='unicode61 remove_diacritics 2');
"""

# Selected as `documents d`; the last column counts the document's chunks.
DOC_COLUMNS = (
    "d.doc_id, d.source_path, d.title, d.content_hash, d.mime, d.language, d.pages, "
    "d.ingested_at, d.version, d.groups, "
    "(SELECT count(*) FROM chunks c2 WHERE c2.doc_id = d.doc_id), "
    "d.source_modified_at, d.owner, d.effective_date, d.expiry_date, d.tags"
)
# An archived chunk's document, as its version recorded it (selected as `versions d`).
VERSION_DOC_COLUMNS = (
    "d.doc_id, d.source_path, d.title, d.content_hash, d.mime, d.language, d.pages, "
    "d.ingested_at, d.version, d.groups, d.chunk_count, d.source_modified_at, '', NULL, "
    "NULL, '[]'"
)
VERSION_COLUMNS = (
    "doc_id, version, content_hash, ingested_at, source_modified_at, chunk_count, ended, "
    "ended_at"
)
# Columns that schema 1 lacked, added in place by `upgrade` (SQLite has no ADD IF NOT EXISTS).
_ADDED_COLUMNS = (
    "source_modified_at TEXT", "owner TEXT NOT NULL DEFAULT ''", "effective_date TEXT",
    "expiry_date TEXT", "tags TEXT NOT NULL DEFAULT '[]'",
)
# Selected as `chunks c`; a row of CHUNK_COLUMNS then DOC_COLUMNS splits at CHUNK_WIDTH.
CHUNK_COLUMNS = (
    "c.chunk_id, c.doc_id, c.ordinal, c.text, c.page, c.page_end, c.section, c.kind, "
    "c.language, c.rowid"
)
CHUNK_WIDTH = 10
# An archived chunk in the columns of CHUNK_COLUMNS; rowid 0, for it is not searched.
ARCHIVED_COLUMNS = (
    "c.chunk_id, c.doc_id, c.ordinal, c.text, c.page, c.page_end, c.section, c.kind, "
    "c.language, 0"
)


def document_from_row(row: Sequence[object]) -> DocumentRecord:
    """A document record from a row of DOC_COLUMNS."""
    return DocumentRecord(
        doc_id=str(row[0]),
        source_path=str(row[1]),
        title=str(row[2]),
        content_hash=str(row[3]),
        mime=str(row[4]),
        language=str(row[5]),
        pages=row[6] if row[6] is None else int(str(row[6])),
        ingested_at=str(row[7]),
        version=int(str(row[8])),
        groups=tuple(json.loads(str(row[9]))),
        chunk_count=int(str(row[10])),
        source_modified_at=None if row[11] is None else str(row[11]),
        owner=str(row[12]),
        effective_date=None if row[13] is None else str(row[13]),
        expiry_date=None if row[14] is None else str(row[14]),
        tags=tuple(json.loads(str(row[15]))),
    )


def version_from_row(row: Sequence[object]) -> VersionRecord:
    """A version record from a row of VERSION_COLUMNS."""
    return VersionRecord(
        doc_id=str(row[0]), version=int(str(row[1])), content_hash=str(row[2]),
        ingested_at=str(row[3]), source_modified_at=None if row[4] is None else str(row[4]),
        chunk_count=int(str(row[5])), ended=None if row[6] is None else VersionEnd(str(row[6])),
        ended_at=None if row[7] is None else str(row[7]),
    )


def upgrade(db: sqlite3.Connection) -> None:
    """Bring a schema-1 store to this schema in one transaction: the new document columns,
    and a version row for each stored document (its history starts there)."""
    row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    if row is None or str(row[0]) == SCHEMA_VERSION:
        return
    with write_transaction(db):
        present = {str(r[1]) for r in db.execute("PRAGMA table_info(documents)")}
        for column in _ADDED_COLUMNS:
            if column.split()[0] not in present:
                db.execute(f"ALTER TABLE documents ADD COLUMN {column}")
        db.execute(
            "INSERT OR IGNORE INTO versions(doc_id, version, source_path, title, content_hash, "
            "mime, language, pages, ingested_at, groups, chunk_count) "
            "SELECT d.doc_id, d.version, d.source_path, d.title, d.content_hash, d.mime, "
            "d.language, d.pages, d.ingested_at, d.groups, "
            "(SELECT count(*) FROM chunks c WHERE c.doc_id = d.doc_id) FROM documents d"
        )
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (SCHEMA_VERSION,))


def chunk_from_row(row: Sequence[object]) -> ChunkRecord:
    """A chunk record from a row of CHUNK_COLUMNS."""
    return ChunkRecord(
        chunk_id=str(row[0]),
        doc_id=str(row[1]),
        ordinal=int(str(row[2])),
        text=str(row[3]),
        page=None if row[4] is None else int(str(row[4])),
        page_end=None if row[5] is None else int(str(row[5])),
        section=str(row[6]),
        kind=str(row[7]),
        language=str(row[8]),
        rowid=int(str(row[9])),
    )
