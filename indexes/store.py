"""The SQLite store: documents, chunks, their embeddings and keyword terms, in one database.

SQLite is the source of truth. Every change to a document (its chunks, vectors and keyword
terms together) is one transaction, and bumps a generation counter that the FAISS index is
checked against, so a process killed mid-write leaves either the old or the new document,
and the vector index is rebuilt from here when it lags behind.

The schema lives in `indexes.schema`, the write statements in `indexes.store_writes` and
the keyword queries in `indexes.keyword_queries`; this module owns the connections.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from indexes.errors import StoreError
from indexes.filters import SearchFilter
from indexes.keyword_queries import bm25_search, candidates_within
from indexes.private_files import private_file
from indexes.records import ChunkRecord, DocumentRecord, StoredChunk, VersionEnd, VersionRecord
from indexes.schema import (
    ARCHIVED_COLUMNS,
    CHUNK_COLUMNS,
    CHUNK_WIDTH,
    DOC_COLUMNS,
    SCHEMA,
    SCHEMA_VERSION,
    VERSION_COLUMNS,
    VERSION_DOC_COLUMNS,
    chunk_from_row,
    document_from_row,
    upgrade,
    version_from_row,
)
from indexes.sqlite_open import connect, prepare, write_transaction
from indexes.store_writes import (
    StoreChange,
    bump_generation,
    delete_chunks,
    end_version,
    insert_chunks,
    insert_document,
    insert_version,
)

__all__ = ["SCHEMA_VERSION", "Store", "StoreChange"]


class Store:
    """Documents, chunks, embeddings and keyword terms in one SQLite file."""

    def __init__(self, path: Path) -> None:
        # Created 0600 before SQLite opens it, so its -wal and -shm files are private too.
        private_file(path)
        self.path = path
        self._lock = threading.RLock()
        # Reads go through one connection per thread (WAL allows concurrent readers), so a
        # keyword search never waits for another request's read or for a writer.
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        try:
            self._db = self._connect()
            prepare(self._db, SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open the store at {path}: {exc}") from exc
        self._db.execute(
            "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema', ?), ('generation', '0')",
            (SCHEMA_VERSION,),
        )
        upgrade(self._db)

    def _connect(self) -> sqlite3.Connection:
        db = connect(self.path)
        db.execute("PRAGMA foreign_keys=ON")
        return db

    @contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            try:
                connection = self._connect()
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"cannot open the store at {self.path}: {exc}") from exc
            self._local.connection = connection
            with self._lock:
                self._readers.append(connection)
        yield connection

    def close(self) -> None:
        """Close every database connection."""
        with self._lock:
            for reader in self._readers:
                reader.close()
            self._readers.clear()
            self._db.close()

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return write_transaction(self._db, self._lock)

    # -- metadata -----------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        """A value from the meta table, or None."""
        with self._reader() as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """Set a value in the meta table."""
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def generation(self) -> int:
        """Counter bumped by every committed change to chunks."""
        return int(self.get_meta("generation") or 0)

    # -- writes -------------------------------------------------------------------------
    def replace_document(
        self, document: DocumentRecord, chunks: Sequence[ChunkRecord], embeddings: np.ndarray
    ) -> StoreChange:
        """Store a document version with its chunks, replacing any older version atomically.

        Returns the rowids removed and added and the generations the write went from and
        to, all read inside its transaction, so the vector index can follow.
        """
        if len(chunks) != len(embeddings):
            raise StoreError(f"{len(chunks)} chunks but {len(embeddings)} embeddings")
        vectors = np.ascontiguousarray(embeddings, dtype=np.float32)
        with self._transaction() as db:
            end_version(db, document.doc_id, VersionEnd.REPLACED, document.ingested_at)
            removed = delete_chunks(db, document.doc_id)
            insert_document(db, document)
            added = insert_chunks(db, document, chunks, vectors)
            insert_version(db, document, len(chunks))
            previous, generation = bump_generation(db)
        return StoreChange(tuple(removed), tuple(added), previous, generation)

    def delete_document(
        self, doc_id: str, end: VersionEnd = VersionEnd.DELETED, at: str | None = None
    ) -> StoreChange:
        """Take a document out of search: its chunks, vectors and terms go, atomically; its
        versions and their text stay for the audit trail (`versions`, `chunk`).

        Returns the removed rowids and the generations, as `replace_document` does.
        """
        ended_at = at or datetime.now(UTC).isoformat(timespec="seconds")
        with self._transaction() as db:
            end_version(db, doc_id, end, ended_at)
            removed = delete_chunks(db, doc_id)
            db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))
            previous, generation = bump_generation(db)
        return StoreChange(tuple(removed), (), previous, generation)

    def set_groups(self, doc_id: str, groups: Sequence[str]) -> None:
        """Change who may read a document; takes effect on the next query, no re-embedding."""
        with self._transaction() as db:
            db.execute(
                "UPDATE documents SET groups = ? WHERE doc_id = ?",
                (json.dumps(sorted(set(groups))), doc_id),
            )

    # -- reads --------------------------------------------------------------------------
    def document_by_path(self, source_path: str) -> DocumentRecord | None:
        """The stored document for a source path, or None."""
        with self._reader() as db:
            row = db.execute(
                f"SELECT {DOC_COLUMNS} FROM documents d WHERE d.source_path = ?", (source_path,)
            ).fetchone()
        return None if row is None else document_from_row(row)

    def versions(self, doc_id: str) -> list[VersionRecord]:
        """Every stored version of a document, oldest first (empty if never stored)."""
        with self._reader() as db:
            rows = db.execute(
                f"SELECT {VERSION_COLUMNS} FROM versions WHERE doc_id = ? ORDER BY version",
                (doc_id,),
            ).fetchall()
        return [version_from_row(r) for r in rows]

    def latest_version(self, doc_id: str) -> int:
        """The highest version number this document ever had, 0 if none."""
        with self._reader() as db:
            row = db.execute(
                "SELECT max(version) FROM versions WHERE doc_id = ?", (doc_id,)
            ).fetchone()
        return int(row[0] or 0)

    def expired_doc_ids(self, today: str) -> frozenset[str]:
        """Documents whose expiry date (YYYY-MM-DD) is on or before `today`."""
        with self._reader() as db:
            rows = db.execute(
                "SELECT doc_id FROM documents WHERE expiry_date IS NOT NULL AND expiry_date <= ?",
                (today,),
            ).fetchall()
        return frozenset(str(r[0]) for r in rows)

    def document(self, doc_id: str) -> DocumentRecord | None:
        """The stored document with this id, or None."""
        with self._reader() as db:
            row = db.execute(
                f"SELECT {DOC_COLUMNS} FROM documents d WHERE d.doc_id = ?", (doc_id,)
            ).fetchone()
        return None if row is None else document_from_row(row)

    def documents(self, search_filter: SearchFilter | None = None) -> list[DocumentRecord]:
        """All documents the filter lets through, by source path."""
        clause, params = (search_filter or SearchFilter()).document_clause("d")
        with self._reader() as db:
            rows = db.execute(
                f"SELECT {DOC_COLUMNS} FROM documents d WHERE {clause} ORDER BY d.source_path",
                params,
            ).fetchall()
        return [document_from_row(r) for r in rows]

    def chunk(self, chunk_id: str, search_filter: SearchFilter | None = None) -> StoredChunk | None:
        """A chunk with its document, or None when absent or filtered out."""
        clause, params = (search_filter or SearchFilter()).document_clause("d")
        with self._reader() as db:
            row = db.execute(
                f"SELECT {CHUNK_COLUMNS}, {DOC_COLUMNS} FROM chunks c "
                f"JOIN documents d ON d.doc_id = c.doc_id WHERE c.chunk_id = ? AND {clause}",
                [chunk_id, *params],
            ).fetchone()
            if row is None:  # an older version's passage, which an audit record may cite
                row = db.execute(
                    f"SELECT {ARCHIVED_COLUMNS}, {VERSION_DOC_COLUMNS} FROM archived_chunks c "
                    f"JOIN versions d ON d.doc_id = c.doc_id AND d.version = c.version "
                    f"WHERE c.chunk_id = ? AND {clause}",
                    [chunk_id, *params],
                ).fetchone()
        return None if row is None else _stored_chunk(row)

    def chunks_by_rowids(self, rowids: Sequence[int]) -> dict[int, StoredChunk]:
        """Chunks with their documents, keyed by rowid (missing rowids are left out)."""
        if not rowids:
            return {}
        marks = ",".join("?" * len(rowids))
        with self._reader() as db:
            rows = db.execute(
                f"SELECT {CHUNK_COLUMNS}, {DOC_COLUMNS} FROM chunks c "
                f"JOIN documents d ON d.doc_id = c.doc_id WHERE c.rowid IN ({marks})",
                list(rowids),
            ).fetchall()
        return {int(r[9]): _stored_chunk(r) for r in rows}

    def allowed_rowids(self, search_filter: SearchFilter) -> np.ndarray:
        """Rowids of every chunk the filter lets through, as int64."""
        clause, params = search_filter.document_clause("d")
        with self._reader() as db:
            rows = db.execute(
                f"SELECT c.rowid FROM chunks c JOIN documents d ON d.doc_id = c.doc_id "
                f"WHERE {clause}",
                params,
            ).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def embeddings(self) -> tuple[np.ndarray, np.ndarray]:
        """(rowids, vectors) of every stored chunk, for rebuilding the vector index."""
        with self._reader() as db:
            rows = db.execute("SELECT rowid, embedding FROM chunks ORDER BY rowid").fetchall()
        return _embedding_arrays(rows)

    def vector_snapshot(self) -> tuple[int, np.ndarray, np.ndarray]:
        """(generation, rowids, vectors) read in one transaction, so the vectors are exactly
        that generation's even while another process writes."""
        with self._reader() as db:
            db.execute("BEGIN")
            try:
                row = db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
                rows = db.execute("SELECT rowid, embedding FROM chunks ORDER BY rowid").fetchall()
            finally:
                db.execute("COMMIT")
        rowids, vectors = _embedding_arrays(rows)
        return int(row[0]) if row is not None else 0, rowids, vectors

    def keyword_search(
        self, terms: Sequence[str], k: int, search_filter: SearchFilter
    ) -> list[tuple[int, float]]:
        """BM25 over the chunk terms, filtered before truncation; (rowid, score), best first."""
        with self._reader() as db:
            return bm25_search(db, terms, k, search_filter)

    def keyword_candidates(
        self, terms: Sequence[str], search_filter: SearchFilter
    ) -> tuple[list[tuple[int, str]], int, float]:
        """Allowed chunks holding any of `terms` with their terms, and the allowed set's size
        and mean length: what BM25 needs to score within the filter alone."""
        with self._reader() as db:
            return candidates_within(db, terms, search_filter)

    def count_chunks(self) -> int:
        """Number of stored chunks."""
        with self._reader() as db:
            return int(db.execute("SELECT count(*) FROM chunks").fetchone()[0])


def _stored_chunk(row: Sequence[object]) -> StoredChunk:
    """A row of CHUNK_COLUMNS then DOC_COLUMNS as a chunk joined with its document."""
    return StoredChunk(chunk_from_row(row[:CHUNK_WIDTH]), document_from_row(row[CHUNK_WIDTH:]))


def _embedding_arrays(rows: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """(rowid, embedding blob) rows as an int64 id array and a float32 matrix."""
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
    rowids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    vectors = np.stack([np.frombuffer(r[1], dtype=np.float32) for r in rows])
    return rowids, vectors
