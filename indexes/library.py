"""The document index: the SQLite store and the FAISS vectors behind one facade.

Ingestion writes through it and retrieval reads through it, so both always see the store and
the vector index move together, checked against the embedding model that built them.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from indexes.embedder import Embedder
from indexes.errors import ModelMismatchError, StoreError
from indexes.filters import SearchFilter
from indexes.keyword import bm25_within
from indexes.records import ChunkRecord, DocumentRecord, VersionEnd
from indexes.store import Store, StoreChange
from indexes.text import analyze
from indexes.vectors import VectorIndex


@dataclass(frozen=True)
class DocumentBatchItem:
    """One document version to store, with its chunks and their vectors (same order)."""

    document: DocumentRecord
    chunks: Sequence[ChunkRecord]
    vectors: np.ndarray


class DocumentIndex:
    """Store and vector index under one data directory, tied to one embedding model."""

    def __init__(self, folder: Path, embedder: Embedder) -> None:
        self.folder = folder
        self.embedder = embedder
        self.store = Store(folder / "store.sqlite3")
        self._vectors: VectorIndex | None = None
        self._lock = threading.RLock()
        stored = self.store.get_meta("embedding_model")
        if stored is not None and stored != embedder.model_id:
            raise ModelMismatchError(stored, embedder.model_id)

    def close(self) -> None:
        """Release the database connection."""
        self.store.close()

    def _vector_index(self) -> VectorIndex:
        with self._lock:
            if self._vectors is None:
                stored_dim = self.store.get_meta("dimension")
                dim = int(stored_dim) if stored_dim else self.embedder.dimension
                self._vectors = VectorIndex(self.folder, dim)
            self._vectors.sync(self.store)
            return self._vectors

    def _claim_model(self, dimension: int) -> None:
        if self.store.get_meta("embedding_model") is None:
            self.store.set_meta("embedding_model", self.embedder.model_id)
            self.store.set_meta("dimension", str(dimension))
        elif int(self.store.get_meta("dimension") or dimension) != dimension:
            raise StoreError(f"vectors of dimension {dimension} do not fit this index")

    def add(self, items: Sequence[DocumentBatchItem]) -> None:
        """Store document versions (replacing older ones) and index their vectors."""
        with self._lock:
            for item in items:
                self._claim_model(int(item.vectors.shape[1]) if item.vectors.ndim == 2 else 0)
                vectors = self._vector_index()
                change = self.store.replace_document(item.document, item.chunks, item.vectors)
                self._follow(vectors, change, item.vectors)

    def delete(
        self, doc_id: str, end: VersionEnd = VersionEnd.DELETED, at: str | None = None
    ) -> bool:
        """Take a document out of search: its chunks and vectors go (FAISS shrinks), its
        versions stay on record (`end` says why). False when it was not stored."""
        with self._lock:
            if self.store.document(doc_id) is None:
                return False
            vectors = self._vector_index()
            self._follow(vectors, self.store.delete_document(doc_id, end, at))
            return True

    def _follow(
        self, vectors: VectorIndex, change: StoreChange, added: np.ndarray | None = None
    ) -> None:
        # The change carries the generations read inside its transaction: reading the
        # store's generation after the commit could see another process's later commit,
        # and record a generation whose vectors this index lacks.
        if not vectors.apply(change, added):
            vectors.sync(self.store)  # another process wrote since the last sync

    def save(self) -> None:
        """Persist the vector index so the next start need not rebuild it."""
        with self._lock:
            if self._vectors is not None:
                self._vectors.save()

    def vector_search(
        self, query_vector: np.ndarray, k: int, search_filter: SearchFilter
    ) -> list[tuple[int, float]]:
        """Nearest chunks by cosine, restricted by the filter before ranking."""
        if self.store.get_meta("embedding_model") is None:
            return []
        vectors = self._vector_index()
        allowed = None if search_filter.is_empty else self.store.allowed_rowids(search_filter)
        return vectors.search(query_vector, k, allowed)

    def keyword_search(
        self, query: str, k: int, search_filter: SearchFilter
    ) -> list[tuple[int, float]]:
        """BM25 over chunk terms, filtered before truncation.

        A short query rarely tells its language, so its words are analysed as English and as
        French and both sets of terms are searched. (Adding adjacent-term phrases was measured
        too: +1 MAP point on ObliQA and PIAF but -3.5 nDCG points on SciFact, so it is off.)
        """
        terms = list(dict.fromkeys(analyze(query, "en") + analyze(query, "fr")))
        if search_filter.is_empty:
            return self.store.keyword_search(terms, k, search_filter)
        # Within a filter, statistics come from the allowed chunks alone (see keyword.py).
        candidates, total, mean = self.store.keyword_candidates(terms, search_filter)
        return bm25_within(terms, candidates, total, mean, k)

    def similarity(self, query_vector: np.ndarray, rowids: Sequence[int]) -> dict[int, float]:
        """Cosine between a query vector and the stored vectors of the given chunks."""
        if not rowids:
            return {}
        vectors = self._vector_index()
        return vectors.similarity(query_vector, rowids)
