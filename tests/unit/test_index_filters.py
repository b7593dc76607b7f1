"""Filters apply inside both searches before ranking: access groups, documents, paths, dates."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexes.filters import SearchFilter
from indexes.library import DocumentIndex
from tests.unit.fakes import FakeEmbedder, MakeItem, make_item
from tests.unit.index_kit import NO_FILTER, doc_rowids, rowids, rowids_of

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
