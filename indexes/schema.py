"""The store's SQLite schema, and how its rows become document and chunk records."""

from __future__ import annotations

import json
from collections.abc import Sequence

from indexes.records import ChunkRecord, DocumentRecord

SCHEMA_VERSION = "1"

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
    groups TEXT NOT NULL DEFAULT '[]'
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
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_terms
    USING fts5(terms, tokenize='unicode61 remove_diacritics 2');
"""

# Selected as `documents d`; the last column counts the document's chunks.
DOC_COLUMNS = (
    "d.doc_id, d.source_path, d.title, d.content_hash, d.mime, d.language, d.pages, "
    "d.ingested_at, d.version, d.groups, "
    "(SELECT count(*) FROM chunks c2 WHERE c2.doc_id = d.doc_id)"
)
# Selected as `chunks c`; a row of CHUNK_COLUMNS then DOC_COLUMNS splits at CHUNK_WIDTH.
CHUNK_COLUMNS = (
    "c.chunk_id, c.doc_id, c.ordinal, c.text, c.page, c.page_end, c.section, c.kind, "
    "c.language, c.rowid"
)
CHUNK_WIDTH = 10


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
    )


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
