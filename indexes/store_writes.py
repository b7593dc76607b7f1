"""The store's write statements, each run inside the caller's transaction.

A write changes a document's chunks, vectors and keyword terms together and bumps the
generation counter in the same transaction, so the generation it returns is exactly the
state it committed, whatever other processes commit afterwards.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from indexes.records import ChunkRecord, DocumentRecord, VersionEnd
from indexes.text import analyze


@dataclass(frozen=True)
class StoreChange:
    """What one committed write did, for the vector index to follow.

    `previous_generation` is the generation the write started from, read inside its
    transaction: a vector index at that generation plus this change is at `generation`;
    one at any other generation lacks some other writer's change and must be rebuilt.
    """

    removed: tuple[int, ...]
    added: tuple[int, ...]
    previous_generation: int
    generation: int


def insert_document(db: sqlite3.Connection, document: DocumentRecord) -> None:
    """Insert the document row, replacing an older version's."""
    db.execute(
        "INSERT OR REPLACE INTO documents(doc_id, source_path, title, content_hash, "
        "mime, language, pages, ingested_at, version, groups, source_modified_at, owner, "
        "effective_date, expiry_date, tags) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            document.doc_id, document.source_path, document.title,
            document.content_hash, document.mime, document.language, document.pages,
            document.ingested_at, document.version, json.dumps(list(document.groups)),
            document.source_modified_at, document.owner, document.effective_date,
            document.expiry_date, json.dumps(list(document.tags)),
        ),
    )


def insert_version(db: sqlite3.Connection, document: DocumentRecord, chunks: int) -> None:
    """Record the document's new version as its current one."""
    db.execute(
        "INSERT OR REPLACE INTO versions(doc_id, version, source_path, title, content_hash, "
        "mime, language, pages, ingested_at, groups, source_modified_at, chunk_count) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            document.doc_id, document.version, document.source_path, document.title,
            document.content_hash, document.mime, document.language, document.pages,
            document.ingested_at, json.dumps(list(document.groups)),
            document.source_modified_at, chunks,
        ),
    )


def end_version(db: sqlite3.Connection, doc_id: str, end: VersionEnd, at: str) -> None:
    """Keep the text of the document's current chunks, and mark its version as ended."""
    row = db.execute("SELECT version FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
    if row is None:
        return
    db.execute(
        "INSERT OR IGNORE INTO archived_chunks(chunk_id, doc_id, version, ordinal, text, page, "
        "page_end, section, kind, language) SELECT chunk_id, doc_id, ?, ordinal, text, page, "
        "page_end, section, kind, language FROM chunks WHERE doc_id = ?",
        (int(row[0]), doc_id),
    )
    db.execute(
        "UPDATE versions SET ended = ?, ended_at = ? WHERE doc_id = ? AND version = ?",
        (end.value, at, doc_id, int(row[0])),
    )


def insert_chunks(
    db: sqlite3.Connection,
    document: DocumentRecord,
    chunks: Sequence[ChunkRecord],
    vectors: np.ndarray,
) -> list[int]:
    """Insert chunks with their vectors and keyword terms; returns their new rowids."""
    added = []
    for chunk, vector in zip(chunks, vectors, strict=True):
        cursor = db.execute(
            "INSERT INTO chunks(chunk_id, doc_id, ordinal, text, page, page_end, "
            "section, kind, language, embedding) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                chunk.chunk_id, chunk.doc_id, chunk.ordinal, chunk.text, chunk.page,
                chunk.page_end, chunk.section, chunk.kind, chunk.language,
                vector.tobytes(),
            ),
        )
        rowid = int(cursor.lastrowid or 0)
        terms = " ".join(analyze(
            f"{document.title}\n{chunk.section}\n{chunk.text}", chunk.language
        ))
        db.execute("INSERT INTO chunk_terms(rowid, terms) VALUES (?, ?)", (rowid, terms))
        added.append(rowid)
    return added


def delete_chunks(db: sqlite3.Connection, doc_id: str) -> list[int]:
    """Delete a document's chunks and their keyword terms; returns the removed rowids."""
    rowids = [int(r[0]) for r in db.execute(
        "SELECT rowid FROM chunks WHERE doc_id = ?", (doc_id,)
    )]
    db.executemany("DELETE FROM chunk_terms WHERE rowid = ?", [(r,) for r in rowids])
    db.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
    return rowids


def bump_generation(db: sqlite3.Connection) -> tuple[int, int]:
    """Advance the generation counter; returns (generation before, generation after).

    Both are read inside the caller's transaction (which holds the write lock), so no other
    writer can commit between them.
    """
    row = db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
    previous = int(row[0]) if row is not None else 0
    db.execute(
        "INSERT OR REPLACE INTO meta(key, value) VALUES ('generation', ?)", (str(previous + 1),)
    )
    return previous, previous + 1
