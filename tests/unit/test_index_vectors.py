"""The FAISS vector index on its own: following store changes and saving its files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from indexes.errors import StoreError
from indexes.store import Store, StoreChange
from indexes.vectors import VectorIndex
from tests.unit.fakes import DIMENSION, MakeItem


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "store.sqlite3")


def synced(folder: Path, store: Store) -> VectorIndex:
    vectors = VectorIndex(folder, DIMENSION)
    vectors.sync(store)
    return vectors


def test_a_change_from_the_index_generation_is_followed(
    tmp_path: Path, store: Store, item: MakeItem
) -> None:
    vectors = synced(tmp_path, store)
    doc = item("a", ["one text", "two text"])
    change = store.replace_document(doc.document, doc.chunks, doc.vectors)
    assert vectors.apply(change, doc.vectors) is True
    assert vectors.generation == change.generation == 1
    assert vectors.size == 2
    removal = store.delete_document(doc.document.doc_id)
    assert vectors.apply(removal) is True
    assert (vectors.generation, vectors.size) == (2, 0)


def test_a_change_from_another_generation_is_refused_and_never_saved(
    tmp_path: Path, store: Store, item: MakeItem
) -> None:
    vectors = synced(tmp_path, store)
    saved = (tmp_path / "vectors.json").read_text()
    doc = item("a", ["one text"])
    store.replace_document(doc.document, doc.chunks, doc.vectors)  # not followed
    change = store.replace_document(doc.document, doc.chunks, doc.vectors)
    assert vectors.apply(change, doc.vectors) is False
    assert vectors.generation == -1 and vectors.size == 0
    vectors.save()
    assert (tmp_path / "vectors.json").read_text() == saved
    vectors.sync(store)
    assert (vectors.generation, vectors.size) == (2, 1)


def test_added_rowids_need_their_vectors(tmp_path: Path, store: Store) -> None:
    vectors = synced(tmp_path, store)
    with pytest.raises(StoreError, match="one vector"):
        vectors.apply(StoreChange((), (1, 2), 0, 1), np.zeros((1, DIMENSION)))
    with pytest.raises(StoreError, match="one vector"):
        vectors.apply(StoreChange((), (1,), 0, 1))


def test_save_writes_both_files_with_a_digest_and_no_leftovers(
    tmp_path: Path, store: Store, item: MakeItem
) -> None:
    doc = item("a", ["one text"])
    store.replace_document(doc.document, doc.chunks, doc.vectors)
    vectors = synced(tmp_path, store)
    vectors.save()
    state = json.loads((tmp_path / "vectors.json").read_text())
    assert {k: state[k] for k in ("generation", "dimension", "count")} == {
        "generation": 1, "dimension": DIMENSION, "count": 1,
    }
    assert len(state["digest"]) == 32
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("vectors", "."))) == [
        "vectors.faiss", "vectors.json",
    ]
    reloaded = VectorIndex(tmp_path, DIMENSION)
    assert reloaded._load_saved(1) is True and reloaded.size == 1
    assert VectorIndex(tmp_path, DIMENSION)._load_saved(2) is False
    assert VectorIndex(tmp_path, DIMENSION + 1)._load_saved(1) is False


@pytest.mark.parametrize("state", ["[1, 2]", "{not json", ""])
def test_unreadable_state_file_is_not_loaded(tmp_path: Path, store: Store, state: str) -> None:
    synced(tmp_path, store)
    (tmp_path / "vectors.json").write_text(state)
    assert VectorIndex(tmp_path, DIMENSION)._load_saved(0) is False
