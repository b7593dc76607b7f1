"""The SQLite store and FAISS vectors behind DocumentIndex, driven with the fake embedder."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexes.errors import StoreError
from indexes.filters import SearchFilter
from indexes.library import DocumentIndex
from tests.unit.fakes import FakeEmbedder, MakeItem, make_item

NO_FILTER = SearchFilter()


def rowids(results: list[tuple[int, float]]) -> list[int]:
    return [r for r, _ in results]


def doc_rowids(index: DocumentIndex, doc_id: str) -> set[int]:
    return set(rowids_of(index, SearchFilter(doc_ids=frozenset({doc_id}))))


def rowids_of(index: DocumentIndex, flt: SearchFilter) -> list[int]:
    return [int(r) for r in index.store.allowed_rowids(flt)]


# -- replace and delete -------------------------------------------------------------------


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


# -- filters before truncation ------------------------------------------------------------

QUERY = "card payment fee"


@pytest.fixture
def thirty(index: DocumentIndex, embedder: FakeEmbedder) -> DocumentIndex:
    """30 documents: the 10 best matches for QUERY are restricted, 20 weaker ones are public."""
    items = []
    for i in range(10):
        items.append(make_item(
            embedder, f"secret{i}", [f"card payment fee card payment fee {i}"],
            groups=("risk",), path=f"/vault/secret{i}.txt",
        ))
    for i in range(20):
        items.append(make_item(
            embedder, f"public{i}", [f"card statement branch opening hours office {i}"],
            groups=("staff",), path=f"/shared/public{i}.txt",
        ))
    index.add(items)
    return index


def _doc_path(index: DocumentIndex, rowid: int) -> str:
    return index.store.chunks_by_rowids([rowid])[rowid].document.source_path


def test_unfiltered_best_matches_are_the_restricted_ones(
    thirty: DocumentIndex, embedder: FakeEmbedder
) -> None:
    # Precondition for the filter tests below: without a filter the top results are secret.
    top_vector = thirty.vector_search(embedder.embed_query(QUERY), 3, NO_FILTER)
    top_keyword = thirty.keyword_search(QUERY, 3, NO_FILTER)
    assert all(_doc_path(thirty, r).startswith("/vault/") for r in rowids(top_vector))
    assert all(_doc_path(thirty, r).startswith("/vault/") for r in rowids(top_keyword))


@pytest.mark.parametrize(
    "flt",
    [
        SearchFilter(groups=frozenset({"staff"})),
        SearchFilter(path_prefix="/shared/"),
        SearchFilter(doc_ids=frozenset(
            make_item(FakeEmbedder(), f"public{i}", ["x"], path=f"/shared/public{i}.txt")
            .document.doc_id for i in range(20)
        )),
    ],
    ids=["groups", "path_prefix", "doc_ids"],
)
def test_filters_apply_before_truncation(
    thirty: DocumentIndex, embedder: FakeEmbedder, flt: SearchFilter
) -> None:
    vector = thirty.vector_search(embedder.embed_query(QUERY), 3, flt)
    keyword = thirty.keyword_search(QUERY, 3, flt)
    assert len(vector) == 3
    assert len(keyword) == 3
    for rowid in rowids(vector) + rowids(keyword):
        assert _doc_path(thirty, rowid).startswith("/shared/public")


def test_filtered_out_chunk_never_appears_at_any_k(
    thirty: DocumentIndex, embedder: FakeEmbedder
) -> None:
    flt = SearchFilter(groups=frozenset({"staff"}))
    allowed = set(rowids_of(thirty, flt))
    assert len(allowed) == 20
    query = embedder.embed_query(QUERY)
    for k in range(1, 32):
        vector = rowids(thirty.vector_search(query, k, flt))
        keyword = rowids(thirty.keyword_search(QUERY, k, flt))
        assert set(vector) <= allowed, k
        assert set(keyword) <= allowed, k
        assert len(vector) == min(k, 20)
        assert len(keyword) == min(k, 20)  # every public chunk contains "card"


def test_group_filter_semantics(thirty: DocumentIndex, embedder: FakeEmbedder) -> None:
    query = embedder.embed_query(QUERY)
    both = SearchFilter(groups=frozenset({"staff", "risk"}))
    assert len(thirty.vector_search(query, 50, both)) == 30
    nobody = SearchFilter(groups=frozenset())
    assert thirty.vector_search(query, 50, nobody) == []
    assert thirty.keyword_search(QUERY, 50, nobody) == []
    stranger = SearchFilter(groups=frozenset({"marketing"}))
    assert thirty.vector_search(query, 50, stranger) == []
    assert thirty.keyword_search(QUERY, 50, stranger) == []
    none_ids = SearchFilter(doc_ids=frozenset())
    assert thirty.vector_search(query, 50, none_ids) == []


def test_document_without_groups_is_hidden_from_group_restricted_callers(
    index: DocumentIndex, item: MakeItem
) -> None:
    team = item("team", ["loan policy"], groups=("ops",))
    index.add([item("open", ["loan policy"]), team])
    hits = index.keyword_search("loan", 10, SearchFilter(groups=frozenset({"ops"})))
    assert rowids(hits) == sorted(doc_rowids(index, team.document.doc_id))
    assert len(index.keyword_search("loan", 10, NO_FILTER)) == 2


def test_set_groups_takes_effect_without_reindexing(
    index: DocumentIndex, item: MakeItem, embedder: FakeEmbedder
) -> None:
    doc = item("memo", ["branch closing memo"], groups=("ops",))
    index.add([doc])
    generation = index.store.generation()
    flt = SearchFilter(groups=frozenset({"hr"}))
    assert index.keyword_search("memo", 5, flt) == []
    index.store.set_groups(doc.document.doc_id, ["hr", "hr"])
    assert len(index.keyword_search("memo", 5, flt)) == 1
    assert len(index.vector_search(embedder.embed_query("memo"), 5, flt)) == 1
    stored = index.store.document(doc.document.doc_id)
    assert stored is not None and stored.groups == ("hr",)
    assert index.store.generation() == generation


def test_ingested_date_filters_with_utc_datetimes(index: DocumentIndex, item: MakeItem) -> None:
    index.add([
        item("old", ["archive"], ingested_at="2024-01-10T08:00:00+00:00"),
        item("new", ["archive"], ingested_at="2024-06-10T08:00:00+00:00"),
    ])
    after = SearchFilter(ingested_after=datetime(2024, 3, 1, tzinfo=UTC))
    before = SearchFilter(ingested_before=datetime(2024, 3, 1, tzinfo=UTC))
    assert [d.title for d in index.store.documents(after)] == ["new"]
    assert [d.title for d in index.store.documents(before)] == ["old"]
    assert len(index.keyword_search("archive", 5, after)) == 1


def test_ingested_after_with_non_utc_offset(index: DocumentIndex, item: MakeItem) -> None:
    index.add([item("doc", ["archive"], ingested_at="2024-05-01T10:00:00+00:00")])
    # 11:00 at UTC+2 is 09:00 UTC, before the document's 10:00 UTC ingestion.
    paris_summer = timezone(timedelta(hours=2))
    flt = SearchFilter(ingested_after=datetime(2024, 5, 1, 11, 0, tzinfo=paris_summer))
    assert [d.title for d in index.store.documents(flt)] == ["doc"]


# -- property: filtering never leaks and never starves --------------------------------------

GROUPS = ("a", "b", "c")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    doc_groups=st.lists(
        st.frozensets(st.sampled_from(GROUPS), max_size=2), min_size=1, max_size=12
    ),
    caller=st.frozensets(st.sampled_from(GROUPS), max_size=2),
    k=st.integers(min_value=1, max_value=15),
    seed=st.integers(min_value=0, max_value=10_000),
)
def test_filter_property(
    doc_groups: list[frozenset[str]], caller: frozenset[str], k: int, seed: int
) -> None:
    embedder = FakeEmbedder()
    rng = np.random.default_rng(seed)
    vocabulary = ["loan", "card", "rate", "fee", "branch", "account", "risk", "audit"]
    with tempfile.TemporaryDirectory() as folder:
        index = DocumentIndex(Path(folder), embedder)
        items = []
        for i, groups in enumerate(doc_groups):
            words = " ".join(rng.choice(vocabulary, size=4))
            items.append(make_item(embedder, f"d{i}", [f"loan {words}"], groups=sorted(groups)))
        index.add(items)
        visible = {it.document.doc_id for it in items if it.document.groups and
                   set(it.document.groups) & caller}
        flt = SearchFilter(groups=caller)
        allowed = {int(r) for r in index.store.allowed_rowids(flt)}
        assert len(allowed) == len(visible)

        query_text = " ".join(rng.choice(vocabulary, size=2))
        query = embedder.embed_query(query_text)
        vector = index.vector_search(query, k, flt)
        assert set(rowids(vector)) <= allowed
        assert len(vector) == min(k, len(allowed))
        # The filtered ranking is the unfiltered one restricted to allowed chunks.
        everything = index.vector_search(query, len(items), NO_FILTER)
        expected_scores = [s for r, s in everything if r in allowed][:k]
        assert [s for _, s in vector] == pytest.approx(expected_scores, abs=1e-5)

        keyword = index.keyword_search("loan", k, flt)  # every chunk says "loan"
        assert set(rowids(keyword)) <= allowed
        assert len(keyword) == min(k, len(allowed))
        index.close()


def test_bare_french_keyword_query_finds_french_documents(
    index: DocumentIndex, item: MakeItem
) -> None:
    sentence = "Le client dépose sa réclamation auprès de son agence."
    claim = item("claims", [sentence], language="fr", title="Procédure")
    index.add([claim, item("wires", ["Les virements sont exécutés le jour même."],
                           language="fr", title="Virements SEPA")])
    # A full French question works: its function words make it French.
    assert len(index.keyword_search("Comment déposer une réclamation ?", 5, NO_FILTER)) == 1
    assert rowids(index.keyword_search("réclamations", 5, NO_FILTER)) == sorted(
        doc_rowids(index, claim.document.doc_id)
    )



def test_filtered_keyword_scores_ignore_documents_the_caller_cannot_see(
    tmp_path: Path, embedder: FakeEmbedder
) -> None:
    """A restricted caller gets exactly the scores of an index holding only what they see."""
    visible = [("a", ["loan fee waived for students", "card fee monthly"]),
               ("b", ["loan limit for students raised", "branch hours"])]
    hidden = [("h", ["loan fee loan fee merger secret students", "fee fee fee"])]
    full = DocumentIndex(tmp_path / "full", embedder)
    full.add([make_item(embedder, n, t, groups=("staff",)) for n, t in visible]
             + [make_item(embedder, n, t, groups=("board",)) for n, t in hidden])
    alone = DocumentIndex(tmp_path / "alone", embedder)
    alone.add([make_item(embedder, n, t, groups=("staff",)) for n, t in visible])

    def scored(index: DocumentIndex, flt: SearchFilter) -> list[tuple[str, float]]:
        results = index.keyword_search("loan fee students", 10, flt)
        chunks = index.store.chunks_by_rowids([r for r, _ in results])
        return [(chunks[r].chunk.text, round(s, 9)) for r, s in results]

    staff = SearchFilter(groups=frozenset({"staff"}))
    assert scored(full, staff) == scored(alone, staff)
    # And the filtered formula is FTS5's own: unfiltered FTS5 scores on the small index match.
    assert [(t, round(s, 6)) for t, s in scored(alone, staff)] == [
        (t, round(s, 6)) for t, s in scored(alone, SearchFilter())]
