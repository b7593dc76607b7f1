"""The FAISS vector index, a rebuildable cache of the embeddings stored in SQLite.

Vectors are keyed by the chunk's SQLite rowid. The index file records the store generation it
reflects; when the store has moved on (another process ingested, or this one was killed
between the SQLite commit and the index save), the index is rebuilt from the store.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from indexes.store import Store


class VectorIndex:
    """Exact inner-product search over unit vectors, with deletions and pre-ranking filters."""

    def __init__(self, folder: Path, dimension: int) -> None:
        self.folder = folder
        self.dimension = dimension
        # faiss's type stubs are incomplete (remove_ids, SearchParameters(sel=...)).
        self._index: Any = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
        self._generation = -1
        self._lock = threading.RLock()

    @property
    def _index_path(self) -> Path:
        return self.folder / "vectors.faiss"

    @property
    def _state_path(self) -> Path:
        return self.folder / "vectors.json"

    @property
    def size(self) -> int:
        """Number of vectors held."""
        return int(self._index.ntotal)

    @property
    def generation(self) -> int:
        """Store generation this index reflects (-1 before any sync)."""
        return self._generation

    def sync(self, store: Store) -> None:
        """Bring the index in line with the store: load the saved file or rebuild from SQLite."""
        with self._lock:
            target = store.generation()
            if self._generation == target:
                return
            if self._load_saved(target):
                return
            rowids, vectors = store.embeddings()
            index: Any = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dimension))
            if len(rowids):
                index.add_with_ids(vectors, rowids)
            self._index = index
            self._generation = target
            self.save()

    def _load_saved(self, target: int) -> bool:
        try:
            state = json.loads(self._state_path.read_text())
        except (OSError, ValueError):
            return False
        if state.get("generation") != target or state.get("dimension") != self.dimension:
            return False
        try:
            index = faiss.read_index(str(self._index_path))
        except RuntimeError:
            return False
        if index.ntotal != state.get("count"):
            return False
        self._index = index
        self._generation = target
        return True

    def apply(
        self, removed: list[int], added: list[int], vectors: np.ndarray, generation: int
    ) -> None:
        """Follow one committed store change: drop `removed`, add `added` with `vectors`."""
        with self._lock:
            if removed:
                self._index.remove_ids(np.asarray(removed, dtype=np.int64))
            if added:
                self._index.add_with_ids(
                    np.ascontiguousarray(vectors, dtype=np.float32),
                    np.asarray(added, dtype=np.int64),
                )
            self._generation = generation

    def save(self) -> None:
        """Write the index and its generation atomically (temp file, then rename)."""
        with self._lock:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp_index = self._index_path.with_suffix(".faiss.tmp")
            faiss.write_index(self._index, str(tmp_index))
            os.replace(tmp_index, self._index_path)
            state = {
                "generation": self._generation,
                "dimension": self.dimension,
                "count": int(self._index.ntotal),
            }
            tmp_state = self._state_path.with_suffix(".json.tmp")
            tmp_state.write_text(json.dumps(state))
            os.replace(tmp_state, self._state_path)

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """Top-k (rowid, cosine) pairs; `allowed` restricts the candidates before ranking."""
        with self._lock:
            if k <= 0 or self._index.ntotal == 0:
                return []
            params = None
            if allowed is not None:
                if len(allowed) == 0:
                    return []
                params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed))  # type: ignore[call-arg]
            k = min(k, int(self._index.ntotal))
            scores, ids = self._index.search(
                np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), k, params=params
            )
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i != -1]

    def similarity(self, query: np.ndarray, rowids: Sequence[int]) -> dict[int, float]:
        """Cosine between `query` and the stored vectors of `rowids` (absent ids left out)."""
        out: dict[int, float] = {}
        with self._lock:
            for rowid in rowids:
                try:
                    vector = self._index.reconstruct(int(rowid))
                except RuntimeError:
                    continue
                out[int(rowid)] = float(np.dot(vector, query))
        return out
