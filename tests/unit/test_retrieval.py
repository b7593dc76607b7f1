"""Retriever: each mode returns its own ranking; hybrid fuses them with RRF."""

from __future__ import annotations

import pytest

from indexes.filters import SearchFilter
from indexes.library import DocumentIndex
from rag.retrieval import Fusion, RetrievalConfig, Retriever, SearchMode
from tests.unit.fakes import FakeEmbedder, MakeItem

NO_FILTER = SearchFilter()
QUERY = "zeta omega"


@pytest.fixture
def corpus(index: DocumentIndex, item: MakeItem) -> DocumentIndex:
    """'omega' is rare (BM25 favours it), short 'zeta' chunks are closest by cosine."""
    index.add(
        [item("long", ["omega alpha beta gamma delta epsilon"], groups=("g1",))]
        + [item(f"z{i}", ["zeta" + " zeta" * i], groups=("g2",)) for i in range(5)]
        + [item("noise", ["unrelated branch hours"], groups=("g1",))]
    )
    return index


def retriever(index: DocumentIndex, embedder: FakeEmbedder, **config: object) -> Retriever:
    return Retriever(index, embedder, RetrievalConfig(**config))  # type: ignore[arg-type]


def test_keyword_mode_is_exactly_the_keyword_ranking(
    corpus: DocumentIndex, embedder: FakeEmbedder
) -> None:
    ranking = corpus.keyword_search(QUERY, 50, NO_FILTER)
    hits = retriever(corpus, embedder).search(QUERY, 4, mode=SearchMode.KEYWORD)
    assert [h.stored.chunk.rowid for h in hits] == [r for r, _ in ranking][:4]
    assert [h.score for h in hits] == [s for _, s in ranking][:4]
    assert [h.keyword_score for h in hits] == [s for _, s in ranking][:4]
    assert hits[0].stored.document.title == "long"
    # Keyword-only hits still carry their cosine, for the refusal decision.
    query = embedder.embed_query(QUERY)
    for hit in hits:
        expected = float(query @ embedder.vector(hit.stored.chunk.text))
        assert hit.vector_score == pytest.approx(expected, abs=1e-5)


def test_vector_mode_is_exactly_the_vector_ranking(
    corpus: DocumentIndex, embedder: FakeEmbedder
) -> None:
    ranking = corpus.vector_search(embedder.embed_query(QUERY), 50, NO_FILTER)
    hits = retriever(corpus, embedder, mode=SearchMode.VECTOR).search(QUERY, 5)
    assert [h.stored.chunk.rowid for h in hits] == [r for r, _ in ranking][:5]
    assert [h.score for h in hits] == pytest.approx([s for _, s in ranking][:5])
    assert all(h.keyword_score is None for h in hits)
    assert hits[0].stored.document.title.startswith("z")


def test_hybrid_rrf_contains_the_top_of_both_rankings(
    corpus: DocumentIndex, embedder: FakeEmbedder
) -> None:
    keyword = [r for r, _ in corpus.keyword_search(QUERY, 3, NO_FILTER)]
    vector = [r for r, _ in corpus.vector_search(embedder.embed_query(QUERY), 3, NO_FILTER)]
    assert keyword[0] != vector[0]  # the two rankings disagree on the best chunk
    hits = retriever(corpus, embedder, fusion=Fusion.RRF, rrf_k=60, candidates=3).search(QUERY, 3)
    found = [h.stored.chunk.rowid for h in hits]
    assert {keyword[0], vector[0]} <= set(found)
    assert set(found) <= set(keyword) | set(vector)
    # Fused scores are RRF sums over both rankings.
    for hit in hits:
        rowid = hit.stored.chunk.rowid
        expected = sum(1 / (60 + ranking.index(rowid) + 1)
                       for ranking in (keyword, vector) if rowid in ranking)
        assert hit.score == pytest.approx(expected)
        assert hit.keyword_score is not None or rowid not in keyword


def test_hybrid_puts_a_chunk_first_in_both_rankings_first(
    corpus: DocumentIndex, embedder: FakeEmbedder
) -> None:
    query = "unrelated branch hours"
    keyword = [r for r, _ in corpus.keyword_search(query, 50, NO_FILTER)]
    vector = [r for r, _ in corpus.vector_search(embedder.embed_query(query), 50, NO_FILTER)]
    assert keyword[0] == vector[0]
    hits = retriever(corpus, embedder).search(query, 3)
    assert hits[0].stored.chunk.rowid == keyword[0]
    assert hits[0].stored.document.title == "noise"


def test_hybrid_rrf_order_matches_manual_fusion(
    corpus: DocumentIndex, embedder: FakeEmbedder
) -> None:
    keyword = [r for r, _ in corpus.keyword_search(QUERY, 50, NO_FILTER)]
    vector = [r for r, _ in corpus.vector_search(embedder.embed_query(QUERY), 50, NO_FILTER)]
    fused: dict[int, float] = {}
    for ranking, weight in ((vector, 2.0), (keyword, 0.5)):
        for rank, rowid in enumerate(ranking):
            fused[rowid] = fused.get(rowid, 0.0) + weight / (10 + rank + 1)
    fuse = retriever(corpus, embedder, fusion=Fusion.RRF, rrf_k=10, vector_weight=2.0,
                     keyword_weight=0.5)
    hits = fuse.search(QUERY, 10)
    assert [h.score for h in hits] == pytest.approx(sorted(fused.values(), reverse=True))
    assert {h.stored.chunk.rowid for h in hits} == set(fused)


def test_weighted_fusion_normalises_scores(corpus: DocumentIndex, embedder: FakeEmbedder) -> None:
    hits = retriever(corpus, embedder, fusion=Fusion.WEIGHTED, vector_weight=1.0,
                     keyword_weight=0.0).search(QUERY, 3)
    # With the keyword ranking weighted out, the best vector chunk scores exactly 1.
    assert hits[0].score == pytest.approx(1.0)
    assert hits[0].stored.document.title.startswith("z")


def test_hybrid_search_honours_the_filter(corpus: DocumentIndex, embedder: FakeEmbedder) -> None:
    flt = SearchFilter(groups=frozenset({"g1"}))
    hits = retriever(corpus, embedder).search(QUERY, 10, flt)
    assert hits
    assert {h.stored.document.title for h in hits} <= {"long", "noise"}
    assert hits[0].stored.document.title == "long"


def test_empty_query_or_zero_k_returns_nothing(
    corpus: DocumentIndex, embedder: FakeEmbedder
) -> None:
    search = retriever(corpus, embedder)
    assert search.search("   ", 3) == []
    assert search.search(QUERY, 0) == []
    assert len(search.search(QUERY, 3)) == 3


def test_weighted_fusion_sums_min_max_normalised_scores(
    corpus: DocumentIndex, embedder: FakeEmbedder
) -> None:
    keyword = dict(corpus.keyword_search(QUERY, 5, NO_FILTER))
    vector = dict(corpus.vector_search(embedder.embed_query(QUERY), 5, NO_FILTER))
    hits = retriever(corpus, embedder, fusion=Fusion.WEIGHTED, candidates=5,
                     vector_weight=0.5).search(QUERY, 5)

    def normalised(scores: dict[int, float], rowid: int) -> float:
        low, high = min(scores.values()), max(scores.values())
        return (scores[rowid] - low) / ((high - low) or 1.0) if rowid in scores else 0.0

    for hit in hits:
        rowid = hit.stored.chunk.rowid
        expected = 0.5 * normalised(vector, rowid) + normalised(keyword, rowid)
        assert hit.score == pytest.approx(expected)


def test_queries_outside_the_embedding_languages_trust_vectors_less(
    corpus: DocumentIndex, embedder: FakeEmbedder
) -> None:
    english = retriever(corpus, embedder, foreign_vector_factor=0.25)
    assert english._vector_weight("What are the fees for a payment?") == 1.0
    assert english._vector_weight("Quels sont les frais pour un paiement ?") == 0.25
    multilingual = retriever(corpus, embedder, embedding_languages=frozenset({"*"}))
    assert multilingual._vector_weight("Quels sont les frais pour un paiement ?") == 1.0


class _ByLength:
    """A reranker that prefers short passages: an order unlike the fused one."""

    def score(self, query: str, passages: object) -> list[float]:
        return [-float(len(p)) for p in passages]  # type: ignore[attr-defined]


def test_reranking_blends_cross_encoder_and_fused_scores_within_its_depth(
    corpus: DocumentIndex, embedder: FakeEmbedder
) -> None:
    fused = retriever(corpus, embedder).search(QUERY, 7)
    fused_ids = [h.stored.chunk.rowid for h in fused]

    def ranked(weight: float, depth: int) -> list[int]:
        core = Retriever(corpus, embedder, RetrievalConfig(rerank_depth=depth,
                                                           rerank_weight=weight), _ByLength())
        hits = core.search(QUERY, 7)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        return [h.stored.chunk.rowid for h in hits]

    # Weight 0 keeps the fused order; weight 1 is the cross-encoder's order.
    assert ranked(0.0, 7) == fused_ids
    by_length = sorted(fused, key=lambda h: len(h.stored.chunk.text))
    assert ranked(1.0, 7) == [h.stored.chunk.rowid for h in by_length]
    # Only the top `depth` candidates are reordered; the rest keep their fused order.
    head = sorted(fused[:3], key=lambda h: len(h.stored.chunk.text))
    assert ranked(1.0, 3) == [h.stored.chunk.rowid for h in head] + fused_ids[3:]
