"""Re-embedding every stored chunk with another embedder, without parsing anything again.

The new vectors are staged in their own table, batch by batch, while the index goes on
serving with the old ones; then one transaction puts them in place, records the new model
and dimension, and bumps the generation, so FAISS is rebuilt from them at the next search.
A reindex killed half way leaves the old index whole; run again with the same embedder, it
keeps what it staged and embeds the rest. Chunks ingested meanwhile are embedded before the
switch; a document deleted meanwhile takes its staged vectors with it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from indexes.embedder import Embedder
from indexes.formats import embedded_text
from indexes.store import Store
from indexes.store_writes import bump_generation

STAGING = """
CREATE TABLE IF NOT EXISTS reindex_vectors (rowid INTEGER PRIMARY KEY, embedding BLOB NOT NULL);
"""
BATCH = 256


@dataclass(frozen=True)
class ReindexReport:
    """What a reindex did: chunks embedded now, kept from an interrupted run, in all."""

    model_from: str | None
    model_to: str
    embedded: int
    resumed: int
    chunks: int


def reindex(
    folder: Path, embedder: Embedder, progress: Callable[[int, int], None] | None = None
) -> ReindexReport:
    """Re-embed the index in `folder` with `embedder`; `progress(done, total)` per batch."""
    store = Store(folder / "store.sqlite3")
    try:
        db = store._db  # this module is the store's own maintenance: it owns the tables
        db.executescript(STAGING)
        previous = store.get_meta("embedding_model")
        if store.get_meta("reindex_model") != embedder.model_id:
            db.execute("DELETE FROM reindex_vectors")
            store.set_meta("reindex_model", embedder.model_id)
        resumed = int(db.execute("SELECT count(*) FROM reindex_vectors").fetchone()[0])
        embedded = 0
        while True:  # until no chunk lacks a staged vector, then switch in one transaction
            pending = _unstaged(store)
            if not pending:
                break
            embedded += _stage(store, embedder, pending, progress, resumed + embedded)
            if _switch(store, embedder):
                break
        return ReindexReport(previous, embedder.model_id, embedded, resumed, store.count_chunks())
    finally:
        store.close()


def _unstaged(store: Store) -> list[tuple[int, str]]:
    """(rowid, text to embed) of every chunk without a staged vector, in rowid order."""
    rows = store._db.execute(
        "SELECT c.rowid, d.title, c.section, c.text FROM chunks c "
        "JOIN documents d ON d.doc_id = c.doc_id "
        "WHERE c.rowid NOT IN (SELECT rowid FROM reindex_vectors) ORDER BY c.rowid"
    ).fetchall()
    return [(int(r[0]), embedded_text(str(r[1]), str(r[2]), str(r[3]))) for r in rows]


def _stage(
    store: Store, embedder: Embedder, pending: list[tuple[int, str]],
    progress: Callable[[int, int], None] | None, done: int,
) -> int:
    total = done + len(pending)
    for start in range(0, len(pending), BATCH):
        batch = pending[start:start + BATCH]
        vectors = np.ascontiguousarray(embedder.embed_passages([t for _, t in batch]),
                                       dtype=np.float32)
        with store._transaction() as db:
            db.executemany("INSERT OR REPLACE INTO reindex_vectors(rowid, embedding) VALUES "
                           "(?, ?)", [(r, v.tobytes()) for (r, _), v in zip(batch, vectors,
                                                                            strict=True)])
        done += len(batch)
        if progress:
            progress(done, total)
    return len(pending)


def _switch(store: Store, embedder: Embedder) -> bool:
    """Put the staged vectors in place, unless a chunk arrived since; True when done."""
    with store._transaction() as db:
        missing = db.execute("SELECT count(*) FROM chunks WHERE rowid NOT IN "
                             "(SELECT rowid FROM reindex_vectors)").fetchone()[0]
        if missing:
            return False
        db.execute("UPDATE chunks SET embedding = (SELECT r.embedding FROM reindex_vectors r "
                   "WHERE r.rowid = chunks.rowid)")
        for key, value in (("embedding_model", embedder.model_id),
                           ("dimension", str(embedder.dimension))):
            db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))
        db.execute("DELETE FROM reindex_vectors")
        db.execute("DELETE FROM meta WHERE key = 'reindex_model'")
        bump_generation(db)  # FAISS, at an older generation, is rebuilt from these vectors
    return True
