"""Retrieval: vector, keyword or hybrid search over the document index, filtered first.

Both rankings see the same filter before ranking, then are fused. Fusion is reciprocal rank
fusion (RRF) by default, or a weighted sum of min-max normalised scores; method and weights
are settings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from enum import StrEnum

import numpy as np

from indexes.embedder import Embedder
from indexes.filters import SearchFilter
from indexes.library import DocumentIndex
from indexes.records import StoredChunk
from indexes.text import written_in
from rag.reranking import Reranker
from rag.subjects import named_documents, names_index


class SearchMode(StrEnum):
    """Which rankings a search uses."""

    HYBRID = "hybrid"
    VECTOR = "vector"
    KEYWORD = "keyword"


class Fusion(StrEnum):
    """How the vector and keyword rankings are combined."""

    RRF = "rrf"
    WEIGHTED = "weighted"


@dataclass(frozen=True)
class RetrievalConfig:
    """Settings of the retrieval stage."""

    mode: SearchMode = SearchMode.HYBRID
    fusion: Fusion = Fusion.WEIGHTED
    rrf_k: int = 60
    vector_weight: float = 1.0
    keyword_weight: float = 1.0
    candidates: int = 100
    rerank_depth: int = 30
    # Share of the cross-encoder in the reranked score; the fused score keeps the rest.
    rerank_weight: float = 0.5
    # Languages the embedding model was trained on; for a query in another language the
    # vector ranking is trusted less (its weight is multiplied by foreign_vector_factor).
    embedding_languages: frozenset[str] = frozenset({"en"})
    foreign_vector_factor: float = 0.3
    # A question naming documents by their subject ("Costco's revenue") ranks those
    # documents' passages first (rag/subjects.py). Off by default: on corpora of records
    # with titles (SciFact, ObliQA, PIAF) it cost 0.007-0.035 nDCG@10 (BENCHMARKS.md).
    prefer_named: bool = False


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its fused score and the scores of each ranking."""

    stored: StoredChunk
    score: float
    vector_score: float | None
    keyword_score: float | None
    rerank_score: float | None = None


def _rrf(rankings: list[tuple[list[int], float]], k: int) -> dict[int, float]:
    fused: dict[int, float] = {}
    for ids, weight in rankings:
        for rank, rowid in enumerate(ids):
            fused[rowid] = fused.get(rowid, 0.0) + weight / (k + rank + 1)
    return fused


def _weighted(rankings: list[tuple[dict[int, float], float]]) -> dict[int, float]:
    fused: dict[int, float] = {}
    for scores, weight in rankings:
        if not scores:
            continue
        low, high = min(scores.values()), max(scores.values())
        span = (high - low) or 1.0
        for rowid, score in scores.items():
            fused[rowid] = fused.get(rowid, 0.0) + weight * (score - low) / span
    return fused


def _min_max(values: list[float]) -> list[float]:
    if not values:
        return []
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    return [(v - low) / span for v in values]


def _first(preferred: list[Hit], rest: list[Hit]) -> list[Hit]:
    """`preferred` then `rest`, each in its order, with scores raised where needed so that
    the list stays in descending score order (callers may sort by score again)."""
    if not preferred or not rest:
        return preferred + rest
    lift = max(0.0, rest[0].score - preferred[-1].score + 1e-6)
    return [replace(h, score=h.score + lift) for h in preferred] + rest


class Retriever:
    """Finds the chunks most relevant to a query within what a filter allows."""

    def __init__(
        self,
        index: DocumentIndex,
        embedder: Embedder,
        config: RetrievalConfig,
        reranker: Reranker | None = None,
        today: Callable[[], date] = lambda: datetime.now(UTC).date(),
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.config = config
        self.reranker = reranker
        self.today = today
        self._keyword_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="keyword")
        self._names: tuple[int, dict[str, frozenset[str]]] = (-1, {})

    def search(
        self,
        query: str,
        top_k: int,
        search_filter: SearchFilter | None = None,
        mode: SearchMode | None = None,
    ) -> list[Hit]:
        """The top_k chunks for `query`, best first, every one allowed by the filter."""
        query = query.strip()
        if not query or top_k <= 0:
            return []
        mode = mode or self.config.mode
        flt = self._current(search_filter or SearchFilter())
        # Embedded while the first BM25 query runs: both release the GIL.
        query_vector = self._keyword_pool.submit(self.embedder.embed_query, query)
        hits = self._ranked(query, query_vector, top_k, flt, mode)
        named = self._named(query, flt)
        if not named:
            return hits
        preferred = self._ranked(query, query_vector, top_k, replace(flt, doc_ids=named), mode)
        return _first(preferred, [h for h in hits if h.stored.document.doc_id not in named])[:top_k]

    def names(self) -> Mapping[str, frozenset[str]]:
        """The words naming documents by subject (rag/subjects.py), over every document."""
        generation = self.index.store.generation()
        if self._names[0] != generation:  # rebuilt only after a write
            self._names = (generation, names_index(self.index.store.documents()))
        return self._names[1]

    def _named(self, query: str, flt: SearchFilter) -> frozenset[str]:
        """Documents the query names by subject, within what the filter allows; none when
        the preference is off or the query names every document it may see."""
        if not self.config.prefer_named:
            return frozenset()
        named = named_documents(query, self.names())
        if flt.doc_ids is not None:
            named &= flt.doc_ids
        return named

    def _ranked(self, query: str, vector: Future[np.ndarray], top_k: int, flt: SearchFilter,
                mode: SearchMode) -> list[Hit]:
        """The top_k chunks the filter allows, by the fused (and reranked) score."""
        depth = max(top_k, self.config.candidates)
        keyword_future = (
            self._keyword_pool.submit(self.index.keyword_search, query, depth, flt)
            if mode in (SearchMode.HYBRID, SearchMode.KEYWORD)
            else None
        )
        query_vector = vector.result()
        vector_hits: dict[int, float] = {}
        if mode in (SearchMode.HYBRID, SearchMode.VECTOR):
            vector_hits = dict(self.index.vector_search(query_vector, depth, flt))
        keyword_hits = dict(keyword_future.result()) if keyword_future else {}
        fused = self._fuse(vector_hits, keyword_hits, mode, self._vector_weight(query))
        ranked = sorted(fused.items(), key=lambda item: item[1], reverse=True)
        depth = max(top_k, self.config.rerank_depth) if self.reranker else top_k
        best = ranked[:depth]
        rowids = [rowid for rowid, _ in best]
        # Cosine for every returned chunk, keyword-only ones included: the refusal decision
        # and the citation check rely on it.
        cosines = self.index.similarity(query_vector, rowids)
        stored = self.index.store.chunks_by_rowids(rowids)
        hits = [
            Hit(stored[rowid], score, cosines.get(rowid), keyword_hits.get(rowid))
            for rowid, score in best
            if rowid in stored
        ]
        if self.reranker is not None:
            hits = self._rerank(query, hits)
        return hits[:top_k]

    def _current(self, search_filter: SearchFilter) -> SearchFilter:
        """The filter, less the documents whose expiry date has come (checked at every search:
        a document expires at midnight without a job running). None expired, the filter is
        left as it is, so searches keep the unfiltered path's corpus statistics."""
        expired = self.index.store.expired_doc_ids(self.today().isoformat())
        if not expired:
            return search_filter
        return replace(search_filter,
                       excluded_doc_ids=expired | (search_filter.excluded_doc_ids or frozenset()))

    def _rerank(self, query: str, hits: list[Hit]) -> list[Hit]:
        """Re-order the top `rerank_depth` candidates by cross-encoder and fused score blended.

        Measured on SciFact, ObliQA and PIAF, the cross-encoder alone lost to the fused order
        on SciFact; half and half beat both everywhere (BENCHMARKS.md). Reranked hits score
        1 + blend (in [1, 2]); candidates below the depth keep their fused order beneath them.
        """
        assert self.reranker is not None
        head, tail = hits[:self.config.rerank_depth], hits[self.config.rerank_depth:]
        logits = self.reranker.score(query, [h.stored.chunk.text for h in head])
        weight = self.config.rerank_weight
        cross = _min_max(logits)
        fused = _min_max([h.score for h in head])
        rescored = [
            Hit(h.stored, 1.0 + weight * c + (1 - weight) * f, h.vector_score, h.keyword_score,
                rerank_score=logit)
            for h, logit, c, f in zip(head, logits, cross, fused, strict=True)
        ]
        rescored.sort(key=lambda h: h.score, reverse=True)
        rest = _min_max([h.score for h in tail])
        return rescored + [replace(h, score=f) for h, f in zip(tail, rest, strict=True)]

    def _vector_weight(self, query: str) -> float:
        if written_in(query, self.config.embedding_languages):
            return self.config.vector_weight
        return self.config.vector_weight * self.config.foreign_vector_factor

    def _fuse(
        self,
        vector_hits: dict[int, float],
        keyword_hits: dict[int, float],
        mode: SearchMode,
        vector_weight: float,
    ) -> dict[int, float]:
        if mode == SearchMode.VECTOR:
            return vector_hits
        if mode == SearchMode.KEYWORD:
            return keyword_hits
        if self.config.fusion == Fusion.WEIGHTED:
            return _weighted([
                (vector_hits, vector_weight),
                (keyword_hits, self.config.keyword_weight),
            ])
        by_vector = sorted(vector_hits, key=lambda r: vector_hits[r], reverse=True)
        by_keyword = sorted(keyword_hits, key=lambda r: keyword_hits[r], reverse=True)
        return _rrf(
            [(by_vector, vector_weight), (by_keyword, self.config.keyword_weight)],
            self.config.rrf_k,
        )
