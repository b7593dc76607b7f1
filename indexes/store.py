"""The SQLite store: documents, chunks, their embeddings and keyword terms, in one database.

SQLite is the source of truth. Every change to a document (its chunks, vectors and keyword
terms together) is one transaction, and bumps a generation counter that the FAISS index is
checked against, so a process killed mid-write leaves either the old or the new document,
and the vector index is rebuilt from here when it lags behind.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from indexes.errors import StoreError
from indexes.filters import SearchFilter
from indexes.records import ChunkRecord, DocumentRecord, StoredChunk
from indexes.text import analyze

SCHEMA_VERSION = "1"

_SCHEMA = """
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

_DOC_COLUMNS = (
    "d.doc_id, d.source_path, d.title, d.content_hash, d.mime, d.language, d.pages, "
    "d.ingested_at, d.version, d.groups, "
    "(SELECT count(*) FROM chunks c2 WHERE c2.doc_id = d.doc_id)"
)
_CHUNK_COLUMNS = (
    "c.chunk_id, c.doc_id, c.ordinal, c.text, c.page, c.page_end, c.section, c.kind, "
    "c.language, c.rowid"
)


def _match_expression(terms: Sequence[str]) -> str:
    """An FTS5 query matching any of the terms, each quoted so no term acts as syntax."""
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)


def _document(row: Sequence[object]) -> DocumentRecord:
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


def _chunk(row: Sequence[object]) -> ChunkRecord:
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


class Store:
    """Documents, chunks, embeddings and keyword terms in one SQLite file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        # Reads go through one connection per thread (WAL allows concurrent readers), so a
        # keyword search never waits for another request's read or for a writer.
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        try:
            self._db = self._connect()
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open the store at {path}: {exc}") from exc
        self._db.execute(
            "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema', ?), ('generation', '0')",
            (SCHEMA_VERSION,),
        )

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("PRAGMA busy_timeout=30000")
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

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

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
    ) -> tuple[list[int], list[int]]:
        """Store a document version with its chunks, replacing any older version atomically.

        Returns (rowids removed, rowids added) so the vector index can follow.
        """
        if len(chunks) != len(embeddings):
            raise StoreError(f"{len(chunks)} chunks but {len(embeddings)} embeddings")
        vectors = np.ascontiguousarray(embeddings, dtype=np.float32)
        with self._transaction() as db:
            removed = self._delete_chunks(db, document.doc_id)
            db.execute(
                "INSERT OR REPLACE INTO documents(doc_id, source_path, title, content_hash, "
                "mime, language, pages, ingested_at, version, groups) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    document.doc_id, document.source_path, document.title,
                    document.content_hash, document.mime, document.language, document.pages,
                    document.ingested_at, document.version, json.dumps(list(document.groups)),
                ),
            )
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
            self._bump(db)
        return removed, added

    def delete_document(self, doc_id: str) -> list[int]:
        """Delete a document with its chunks, vectors and terms; returns the removed rowids."""
        with self._transaction() as db:
            removed = self._delete_chunks(db, doc_id)
            db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))
            self._bump(db)
        return removed

    def set_groups(self, doc_id: str, groups: Sequence[str]) -> None:
        """Change who may read a document; takes effect on the next query, no re-embedding."""
        with self._transaction() as db:
            db.execute(
                "UPDATE documents SET groups = ? WHERE doc_id = ?",
                (json.dumps(sorted(set(groups))), doc_id),
            )

    @staticmethod
    def _delete_chunks(db: sqlite3.Connection, doc_id: str) -> list[int]:
        rowids = [int(r[0]) for r in db.execute(
            "SELECT rowid FROM chunks WHERE doc_id = ?", (doc_id,)
        )]
        db.executemany("DELETE FROM chunk_terms WHERE rowid = ?", [(r,) for r in rowids])
        db.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
        return rowids

    @staticmethod
    def _bump(db: sqlite3.Connection) -> None:
        db.execute(
            "UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) "
            "WHERE key = 'generation'"
        )

    # -- reads --------------------------------------------------------------------------
    def document_by_path(self, source_path: str) -> DocumentRecord | None:
        """The stored document for a source path, or None."""
        with self._reader() as db:
            row = db.execute(
                f"SELECT {_DOC_COLUMNS} FROM documents d WHERE d.source_path = ?", (source_path,)
            ).fetchone()
        return None if row is None else _document(row)

    def document(self, doc_id: str) -> DocumentRecord | None:
        """The stored document with this id, or None."""
        with self._reader() as db:
            row = db.execute(
                f"SELECT {_DOC_COLUMNS} FROM documents d WHERE d.doc_id = ?", (doc_id,)
            ).fetchone()
        return None if row is None else _document(row)

    def documents(self, search_filter: SearchFilter | None = None) -> list[DocumentRecord]:
        """All documents the filter lets through, by source path."""
        clause, params = (search_filter or SearchFilter()).document_clause("d")
        with self._reader() as db:
            rows = db.execute(
                f"SELECT {_DOC_COLUMNS} FROM documents d WHERE {clause} ORDER BY d.source_path",
                params,
            ).fetchall()
        return [_document(r) for r in rows]

    def chunk(self, chunk_id: str, search_filter: SearchFilter | None = None) -> StoredChunk | None:
        """A chunk with its document, or None when absent or filtered out."""
        clause, params = (search_filter or SearchFilter()).document_clause("d")
        with self._reader() as db:
            row = db.execute(
                f"SELECT {_CHUNK_COLUMNS}, {_DOC_COLUMNS} FROM chunks c "
                f"JOIN documents d ON d.doc_id = c.doc_id WHERE c.chunk_id = ? AND {clause}",
                [chunk_id, *params],
            ).fetchone()
        return None if row is None else StoredChunk(_chunk(row[:10]), _document(row[10:]))

    def chunks_by_rowids(self, rowids: Sequence[int]) -> dict[int, StoredChunk]:
        """Chunks with their documents, keyed by rowid (missing rowids are left out)."""
        if not rowids:
            return {}
        marks = ",".join("?" * len(rowids))
        with self._reader() as db:
            rows = db.execute(
                f"SELECT {_CHUNK_COLUMNS}, {_DOC_COLUMNS} FROM chunks c "
                f"JOIN documents d ON d.doc_id = c.doc_id WHERE c.rowid IN ({marks})",
                list(rowids),
            ).fetchall()
        return {int(r[9]): StoredChunk(_chunk(r[:10]), _document(r[10:])) for r in rows}

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
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
        rowids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        vectors = np.stack([np.frombuffer(r[1], dtype=np.float32) for r in rows])
        return rowids, vectors

    def keyword_search(
        self, terms: Sequence[str], k: int, search_filter: SearchFilter
    ) -> list[tuple[int, float]]:
        """BM25 over the chunk terms, filtered before truncation; (rowid, score), best first."""
        unique = list(dict.fromkeys(t for t in terms if t))
        if not unique or k <= 0:
            return []
        match = _match_expression(unique)
        sql = "SELECT rowid, -bm25(chunk_terms) AS score FROM chunk_terms WHERE chunk_terms MATCH ?"
        params: list[object] = [match]
        if not search_filter.is_empty:
            clause, filter_params = search_filter.document_clause("d")
            sql += (
                " AND rowid IN (SELECT c.rowid FROM chunks c JOIN documents d "
                f"ON d.doc_id = c.doc_id WHERE {clause})"
            )
            params.extend(filter_params)
        sql += " ORDER BY score DESC LIMIT ?"
        params.append(k)
        with self._reader() as db:
            rows = db.execute(sql, params).fetchall()
        return [(int(r[0]), float(r[1])) for r in rows]

    def keyword_candidates(
        self, terms: Sequence[str], search_filter: SearchFilter
    ) -> tuple[list[tuple[int, str]], int, float]:
        """Allowed chunks holding any of `terms` with their terms, and the allowed set's size
        and mean length: what BM25 needs to score within the filter alone."""
        unique = list(dict.fromkeys(t for t in terms if t))
        if not unique:
            return [], 0, 0.0
        clause, params = search_filter.document_clause("d")
        allowed = (
            f"SELECT c.rowid FROM chunks c JOIN documents d ON d.doc_id = c.doc_id WHERE {clause}"
        )
        match = _match_expression(unique)
        with self._reader() as db:
            rows = db.execute(
                f"SELECT rowid, terms FROM chunk_terms WHERE chunk_terms MATCH ? "
                f"AND rowid IN ({allowed})", [match, *params]
            ).fetchall()
            count, mean = db.execute(
                "SELECT count(*), avg(length(terms) - length(replace(terms, ' ', '')) + 1) "
                f"FROM chunk_terms WHERE rowid IN ({allowed})", params
            ).fetchone()
        return [(int(r[0]), str(r[1])) for r in rows], int(count), float(mean or 0.0)

    def count_chunks(self) -> int:
        """Number of stored chunks."""
        with self._reader() as db:
            return int(db.execute("SELECT count(*) FROM chunks").fetchone()[0])
