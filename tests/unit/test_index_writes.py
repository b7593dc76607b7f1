"""DocumentIndex writes: replacing and deleting documents in SQLite and FAISS together,
and the generation each write records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from indexes.errors import StoreError
from indexes.library import DocumentIndex
from indexes.store import StoreChange
from tests.unit.fakes import FakeEmbedder, MakeItem, make_item
from tests.unit.index_kit import NO_FILTER, doc_rowids, rowids, rowids_of


def test_replace_document_with_new_version_leaves_no_stale_chunks(
    index: DocumentIndex, item: MakeItem, embedder: FakeEmbedder
) -> None:
    v1 = item("policy", ["apple orchard harvest", "banana grove irrigation"])
    other = item("other", ["kiwi plantation report"])
    index.add([v1, other])
    old_rowids = doc_rowids(index, v1.document.doc_id)
    assert len(old_rowids) == 2

    v2 = item("policy", ["cherry field pruning"], version=2)
    assert v2.document.doc_id == v1.document.doc_id
    index.add([v2])

    new_rowids = doc_rowids(index, v1.document.doc_id)
    assert len(new_rowids) == 1
    assert not new_rowids & old_rowids
    stored = index.store.document(v1.document.doc_id)
    assert stored is not None
    assert stored.version == 2
    assert stored.chunk_count == 1
    assert index.store.count_chunks() == 2
    # SQLite: the old rows are gone.
    assert index.store.chunks_by_rowids(sorted(old_rowids)) == {}
    # FTS: old words no longer match, new ones do.
    assert index.keyword_search("apple orchard", 10, NO_FILTER) == []
    assert index.keyword_search("banana", 10, NO_FILTER) == []
    assert rowids(index.keyword_search("cherry pruning", 10, NO_FILTER)) == sorted(new_rowids)
    # FAISS: the old vectors are gone, even for the query equal to an old chunk.
    hits = index.vector_search(embedder.embed_query("apple orchard harvest"), 10, NO_FILTER)
    assert set(rowids(hits)) == new_rowids | doc_rowids(index, other.document.doc_id)
    assert index._vector_index().size == 2


def test_replace_twice_then_reopen_has_no_stale_vectors(
    index_dir: Path, item: MakeItem, embedder: FakeEmbedder
) -> None:
    index = DocumentIndex(index_dir, embedder)
    index.add([item("a", ["first version text"])])
    index.add([item("a", ["second version text", "more second"], version=2)])
    index.add([item("a", ["third version words"], version=3)])
    index.save()
    index.close()

    reopened = DocumentIndex(index_dir, FakeEmbedder())
    assert reopened.store.count_chunks() == 1
    assert reopened._vector_index().size == 1
    hits = reopened.vector_search(embedder.embed_query("second version text"), 10, NO_FILTER)
    assert len(hits) == 1
    only = reopened.store.chunks_by_rowids([hits[0][0]])
    assert only[hits[0][0]].chunk.text == "third version words"
    reopened.close()


def test_delete_removes_vectors_and_terms_for_real(
    index_dir: Path, item: MakeItem, embedder: FakeEmbedder
) -> None:
    index = DocumentIndex(index_dir, embedder)
    keep = item("keep", ["savings account interest"])
    drop = item("drop", ["mortgage rate schedule", "mortgage early repayment"])
    index.add([keep, drop])
    assert index._vector_index().size == 3
    dropped = doc_rowids(index, drop.document.doc_id)

    assert index.delete(drop.document.doc_id) is True
    assert index._vector_index().size == 1
    assert index.store.document(drop.document.doc_id) is None
    assert index.store.count_chunks() == 1
    assert index.keyword_search("mortgage", 10, NO_FILTER) == []
    hits = index.vector_search(embedder.embed_query("mortgage rate schedule"), 10, NO_FILTER)
    assert not set(rowids(hits)) & dropped
    assert len(hits) == 1
    assert index.similarity(embedder.embed_query("mortgage"), sorted(dropped)) == {}
    assert index.delete(drop.document.doc_id) is False
    index.save()
    index.close()

    reopened = DocumentIndex(index_dir, FakeEmbedder())
    assert reopened._vector_index().size == 1
    reopened.close()


def test_mismatched_vector_count_is_refused(index: DocumentIndex, item: MakeItem) -> None:
    bad = item("bad", ["one chunk", "two chunks"])
    with pytest.raises(StoreError, match="2 chunks but 1 embeddings"):
        index.store.replace_document(bad.document, bad.chunks, bad.vectors[:1])
    assert index.store.count_chunks() == 0


def test_vectors_of_another_dimension_are_refused(index: DocumentIndex, item: MakeItem) -> None:
    index.add([item("a", ["first text"])])
    wrong = item("b", ["second text"])
    wrong = type(wrong)(wrong.document, wrong.chunks, np.ones((1, 32), dtype=np.float32))
    with pytest.raises(StoreError, match="dimension 32"):
        index.add([wrong])
    assert index.store.document(wrong.document.doc_id) is None


def test_empty_index_searches_return_nothing(index: DocumentIndex, embedder: FakeEmbedder) -> None:
    assert index.vector_search(embedder.embed_query("anything"), 5, NO_FILTER) == []
    assert index.keyword_search("anything", 5, NO_FILTER) == []
    assert index.keyword_search("the of and", 5, NO_FILTER) == []


# -- the generation each write records ------------------------------------------------------


def test_writes_return_the_generations_they_went_from_and_to(
    index: DocumentIndex, item: MakeItem
) -> None:
    first = item("a", ["one text", "two text"])
    added = index.store.replace_document(first.document, first.chunks, first.vectors)
    assert (added.previous_generation, added.generation) == (0, 1)
    assert added.removed == () and len(added.added) == 2
    second = item("a", ["three text"], version=2)
    replaced = index.store.replace_document(second.document, second.chunks, second.vectors)
    assert replaced.removed == added.added
    assert (replaced.previous_generation, replaced.generation) == (1, 2)
    deleted = index.store.delete_document(first.document.doc_id)
    assert deleted == StoreChange(replaced.added, (), 2, 3)
    assert index.store.generation() == 3


@pytest.mark.parametrize("when", ["after", "before"])
def test_a_write_records_its_own_generation_when_another_index_commits_around_it(
    index_dir: Path, embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch, when: str
) -> None:
    """Two indexes on one folder stand for two processes: the other one commits just before
    or just after this one's transaction."""
    ours = DocumentIndex(index_dir, embedder)
    theirs = DocumentIndex(index_dir, FakeEmbedder())
    ours.add([make_item(embedder, "seed", ["seed text"])])
    intruder = make_item(embedder, "intruder", ["intruder words"])
    original = ours.store.replace_document

    def around(*args: Any) -> StoreChange:
        if when == "before":
            theirs.add([intruder])
        change = original(*args)
        if when == "after":
            theirs.add([intruder])
        return change

    monkeypatch.setattr(ours.store, "replace_document", around)
    ours.add([make_item(embedder, "own", ["own words"])])
    monkeypatch.undo()

    vectors = ours._vectors
    assert vectors is not None
    # After: this write produced generation 2, whatever the store says now (3). Before: the
    # index could not follow this write alone and was rebuilt at the store's generation.
    assert vectors.generation == {"after": 2, "before": 3}[when]
    assert ours.store.generation() == 3
    every = set(rowids_of(ours, NO_FILTER))
    assert {r for r, _ in ours.vector_search(embedder.vector("x"), 10, NO_FILTER)} == every
    top = ours.vector_search(embedder.embed_query("intruder words"), 1, NO_FILTER)
    assert rowids(top) == sorted(doc_rowids(ours, intruder.document.doc_id))
    ours.close()
    theirs.close()


def test_a_delete_records_its_own_generation(
    index_dir: Path, embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    ours = DocumentIndex(index_dir, embedder)
    theirs = DocumentIndex(index_dir, FakeEmbedder())
    doomed = make_item(embedder, "doomed", ["doomed text"])
    ours.add([doomed])
    intruder = make_item(embedder, "intruder", ["intruder words"])
    original = ours.store.delete_document

    def then_theirs(doc_id: str, *why: Any) -> StoreChange:
        change = original(doc_id, *why)
        theirs.add([intruder])
        return change

    monkeypatch.setattr(ours.store, "delete_document", then_theirs)
    assert ours.delete(doomed.document.doc_id)
    monkeypatch.undo()
    assert ours._vectors is not None and ours._vectors.generation == 2
    top = ours.vector_search(embedder.embed_query("intruder words"), 5, NO_FILTER)
    assert rowids(top) == sorted(doc_rowids(ours, intruder.document.doc_id))
    ours.close()
    theirs.close()
