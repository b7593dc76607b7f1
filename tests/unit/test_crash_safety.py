"""The FAISS file is a cache: lost, stale or corrupt, it is rebuilt from SQLite."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import faiss
import numpy as np
import pytest

from indexes.errors import ModelMismatchError
from indexes.filters import SearchFilter
from indexes.library import DocumentIndex
from indexes.store import Store
from tests.unit.fakes import FakeEmbedder, make_item

NO_FILTER = SearchFilter()
QUERIES = ["card fee", "mortgage rate", "savings interest", "branch hours"]


def _populate(index: DocumentIndex, embedder: FakeEmbedder) -> None:
    index.add([
        make_item(embedder, "cards", ["card fee schedule", "card replacement fee"]),
        make_item(embedder, "loans", ["mortgage rate table", "early repayment of mortgage"]),
        make_item(embedder, "savings", ["savings interest rate", "branch opening hours"]),
    ])


def _results(index: DocumentIndex, embedder: FakeEmbedder) -> list[object]:
    out: list[object] = []
    for query in QUERIES:
        vector = index.vector_search(embedder.embed_query(query), 4, NO_FILTER)
        out.append([(r, round(s, 5)) for r, s in vector])
        out.append([r for r, _ in index.keyword_search(query, 4, NO_FILTER)])
    return out


def _reopen(folder: Path) -> DocumentIndex:
    return DocumentIndex(folder, FakeEmbedder())


@pytest.fixture
def populated(index_dir: Path) -> tuple[Path, list[object]]:
    embedder = FakeEmbedder()
    index = DocumentIndex(index_dir, embedder)
    _populate(index, embedder)
    index.save()
    expected = _results(index, embedder)
    index.close()
    assert (index_dir / "vectors.faiss").is_file()
    assert (index_dir / "vectors.json").is_file()
    return index_dir, expected


@pytest.fixture
def rebuilds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the vector index rebuilds from the store (each reads every stored vector)."""
    calls: list[int] = []
    snapshot = Store.vector_snapshot

    def counted(self: Store) -> tuple[int, np.ndarray, np.ndarray]:
        calls.append(1)
        return snapshot(self)

    monkeypatch.setattr(Store, "vector_snapshot", counted)
    return calls


def test_reopen_loads_saved_index(
    populated: tuple[Path, list[object]], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, expected = populated
    stamp = (folder / "vectors.faiss").stat().st_mtime_ns

    def no_rebuild(self: Store) -> None:
        raise AssertionError("the saved index was not loaded: rebuilt from the store")

    monkeypatch.setattr(Store, "vector_snapshot", no_rebuild)
    monkeypatch.setattr(Store, "embeddings", no_rebuild)
    index = _reopen(folder)
    assert _results(index, FakeEmbedder()) == expected
    assert index._vector_index().size == 6
    assert (folder / "vectors.faiss").stat().st_mtime_ns == stamp
    index.close()


@pytest.mark.parametrize("missing", [["vectors.faiss"], ["vectors.json"],
                                     ["vectors.faiss", "vectors.json"]])
def test_missing_vector_files_are_rebuilt(
    populated: tuple[Path, list[object]], missing: list[str]
) -> None:
    folder, expected = populated
    for name in missing:
        (folder / name).unlink()
    index = _reopen(folder)
    assert _results(index, FakeEmbedder()) == expected
    assert index._vector_index().size == 6
    # The rebuilt index was written back, with the store's generation.
    state = json.loads((folder / "vectors.json").read_text())
    assert {k: state[k] for k in ("generation", "dimension", "count")} == {
        "generation": index.store.generation(), "dimension": 64, "count": 6,
    }
    index.close()


def test_crash_before_save_is_rebuilt_from_the_store(index_dir: Path) -> None:
    embedder = FakeEmbedder()
    index = DocumentIndex(index_dir, embedder)
    _populate(index, embedder)
    index.save()
    # Killed between the SQLite commit and the index save: the files are one step behind.
    index.add([make_item(embedder, "late", ["late fee waiver for card"])])
    index.delete(make_item(embedder, "loans", ["x"]).document.doc_id)
    expected = _results(index, embedder)
    saved_generation = json.loads((index_dir / "vectors.json").read_text())["generation"]
    assert saved_generation < index.store.generation()
    index.close()

    reopened = _reopen(index_dir)
    assert _results(reopened, FakeEmbedder()) == expected
    assert reopened._vector_index().size == 5
    assert reopened.keyword_search("mortgage", 5, NO_FILTER) == []
    reopened.close()


def test_stale_state_file_with_older_generation_forces_rebuild(index_dir: Path) -> None:
    embedder = FakeEmbedder()
    index = DocumentIndex(index_dir, embedder)
    index.add([make_item(embedder, "cards", ["card fee schedule", "card replacement fee"])])
    index.save()
    stale = index_dir / "stale"
    stale.mkdir()
    shutil.copy(index_dir / "vectors.faiss", stale / "vectors.faiss")
    shutil.copy(index_dir / "vectors.json", stale / "vectors.json")
    # The stale files hold two vectors of a document that is then replaced.
    index.add([make_item(embedder, "cards", ["debit card limit"], version=2)])
    _populate(index, embedder)
    index.save()
    expected = _results(index, embedder)
    index.close()

    shutil.copy(stale / "vectors.faiss", index_dir / "vectors.faiss")
    shutil.copy(stale / "vectors.json", index_dir / "vectors.json")
    reopened = _reopen(index_dir)
    assert _results(reopened, FakeEmbedder()) == expected
    assert reopened._vector_index().size == reopened.store.count_chunks() == 6
    reopened.close()


def test_hand_written_stale_generation_forces_rebuild(
    populated: tuple[Path, list[object]], rebuilds: list[int]
) -> None:
    folder, expected = populated
    state_path = folder / "vectors.json"
    state = json.loads(state_path.read_text())
    # The index file itself is intact and matches its state: only the generation is behind.
    state_path.write_text(json.dumps({**state, "generation": state["generation"] - 1}))
    index = _reopen(folder)
    assert _results(index, FakeEmbedder()) == expected
    assert rebuilds == [1]
    assert json.loads(state_path.read_text())["generation"] == index.store.generation()
    index.close()


def test_index_file_from_another_save_is_not_loaded(
    populated: tuple[Path, list[object]], rebuilds: list[int]
) -> None:
    """Two processes saving at once can leave one's state beside the other's index file:
    same generation and count, other vectors. The state's digest tells them apart."""
    folder, expected = populated
    other = faiss.IndexIDMap2(faiss.IndexFlatIP(64))
    other.add_with_ids(np.eye(6, 64, dtype=np.float32), np.arange(1, 7, dtype=np.int64))
    faiss.write_index(other, str(folder / "vectors.faiss"))
    index = _reopen(folder)
    assert _results(index, FakeEmbedder()) == expected
    assert rebuilds == [1]
    index.close()


def test_corrupt_index_file_with_current_generation_is_rebuilt(
    populated: tuple[Path, list[object]],
) -> None:
    folder, expected = populated
    (folder / "vectors.faiss").write_bytes(b"garbage" * 20)
    index = _reopen(folder)
    assert _results(index, FakeEmbedder()) == expected
    index.close()


def test_count_mismatch_in_state_file_forces_rebuild(
    populated: tuple[Path, list[object]],
) -> None:
    folder, expected = populated
    state_path = folder / "vectors.json"
    state = json.loads(state_path.read_text())
    state_path.write_text(json.dumps({**state, "count": 99}))
    index = _reopen(folder)
    assert _results(index, FakeEmbedder()) == expected
    assert json.loads(state_path.read_text())["count"] == 6
    index.close()


def test_reopening_with_another_embedding_model_is_refused(
    populated: tuple[Path, list[object]],
) -> None:
    folder, _ = populated
    with pytest.raises(ModelMismatchError) as caught:
        DocumentIndex(folder, FakeEmbedder(model_id="other-model"))
    assert caught.value.stored == "fake-hash-64"
    assert caught.value.configured == "other-model"
    assert "COFFRE_EMBEDDING_MODEL" in str(caught.value)
    assert "other-model" in str(caught.value)


def test_empty_folder_accepts_any_model(index_dir: Path) -> None:
    first = DocumentIndex(index_dir, FakeEmbedder(model_id="first"))
    first.close()
    # Nothing was stored, so no model has claimed the folder yet.
    second = DocumentIndex(index_dir, FakeEmbedder(model_id="second"))
    second.add([make_item(FakeEmbedder(), "doc", ["some text"])])
    assert second.store.get_meta("embedding_model") == "second"
    second.close()
    with pytest.raises(ModelMismatchError):
        DocumentIndex(index_dir, FakeEmbedder(model_id="first"))
