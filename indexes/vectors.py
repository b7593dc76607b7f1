"""The FAISS vector index, a rebuildable cache of the embeddings stored in SQLite.

Vectors are keyed by the chunk's SQLite rowid. The index file records the store generation it
reflects; when the store has moved on (another process ingested, or this one was killed
between the SQLite commit and the index save), the index is rebuilt from the store. A write
is followed only from the generation it started at (read inside its transaction), so the
generation recorded is always one whose vectors the index holds.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from indexes.errors import StoreError
from indexes.private_files import private_dir
from indexes.store import Store, StoreChange


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
            # Generation and vectors come from one read transaction: another process may
            # commit between two separate reads.
            generation, rowids, vectors = store.vector_snapshot()
            index: Any = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dimension))
            if len(rowids):
                index.add_with_ids(vectors, rowids)
            self._index = index
            self._generation = generation
            self.save()

    def _load_saved(self, target: int) -> bool:
        try:
            state = json.loads(self._state_path.read_text())
        except (OSError, ValueError):
            return False
        if not isinstance(state, dict) or state.get("generation") != target:
            return False
        if state.get("dimension") != self.dimension:
            return False
        try:
            data = self._index_path.read_bytes()
        except OSError:
            return False
        # The two files are replaced one after the other: with two processes saving, the
        # state may describe the other's index file. The digest ties them together.
        if state.get("digest") != _digest(data):
            return False
        try:
            index = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
        except RuntimeError:
            return False
        if index.ntotal != state.get("count"):
            return False
        self._index = index
        self._generation = target
        return True

    def apply(self, change: StoreChange, vectors: np.ndarray | None = None) -> bool:
        """Follow one committed store change: drop its removed rowids, add its added ones
        with `vectors` (same order).

        Returns False, leaving the index to be synced, when the index was not at the
        generation the change started from: another process committed in between, and
        this change alone would not bring the index to the change's generation.
        """
        with self._lock:
            if self._generation != change.previous_generation:
                self._generation = -1
                return False
            if change.removed:
                self._index.remove_ids(np.asarray(change.removed, dtype=np.int64))
            if change.added:
                if vectors is None or len(vectors) != len(change.added):
                    raise StoreError("one vector is needed for each added rowid")
                self._index.add_with_ids(
                    np.ascontiguousarray(vectors, dtype=np.float32),
                    np.asarray(change.added, dtype=np.int64),
                )
            self._generation = change.generation
            return True

    def save(self) -> None:
        """Write the index and its state (generation, count, digest), each atomically.

        An index of unknown generation (never synced, or behind another process's write)
        is not written: it would replace a good file with one no reader can use.
        """
        with self._lock:
            if self._generation < 0:
                return
            private_dir(self.folder)  # the files are mkstemp's, 0600
            data = faiss.serialize_index(self._index).tobytes()
            state = {
                "generation": self._generation,
                "dimension": self.dimension,
                "count": int(self._index.ntotal),
                "digest": _digest(data),
            }
            _replace(self._index_path, data)
            _replace(self._state_path, json.dumps(state).encode("utf-8"))

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


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _replace(path: Path, payload: bytes) -> None:
    """Write `payload` to `path` atomically, through a temporary file of this writer's own
    (two processes saving at once must not write into the same temporary file)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
