"""What the answering tests share: a small library, an answerer over it, event helpers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from indexes.filters import SearchFilter
from indexes.library import DocumentIndex
from rag.answering import AnswerConfig, Answerer
from rag.answers import Answer, AnswerEvent, DraftText, Finished
from rag.citations import CitationBuilder
from rag.retrieval import RetrievalConfig, Retriever
from rag.search import Searcher
from tests.unit.fakes import FakeEmbedder, FakeGenerator, MakeItem

CARD = "The card fee is five euros per month. Cards are renewed every three years."
MORTGAGE = "Mortgage rates are fixed for ten years. Early repayment carries a penalty."
FRAIS = "Les frais de tenue de compte sont de deux euros par mois."


def card_library(index: DocumentIndex, item: MakeItem) -> DocumentIndex:
    """Card tariffs and French tariffs (group retail), mortgages (group lending)."""
    index.add([
        item("Card tariffs", [CARD], groups=("retail",)),
        item("Mortgages", [MORTGAGE], groups=("lending",)),
        item("Tarifs", [FRAIS], language="fr", groups=("retail",)),
    ])
    return index


def answerer(
    index: DocumentIndex,
    embedder: FakeEmbedder,
    pieces: Sequence[str],
    *,
    min_relevance: float = 0.3,
    context_size: int = 4096,
    **config: float | bool,
) -> tuple[Answerer, FakeGenerator]:
    """An answerer over `index` whose model replies `pieces`; top 3 sources, no translator."""
    generator = FakeGenerator(pieces, context_size=context_size)
    searcher = Searcher(Retriever(index, embedder, RetrievalConfig()), None)
    citations = CitationBuilder(embedder.embed_passages, index.similarity)
    settings = AnswerConfig(top_k=3, min_relevance=min_relevance, **config)  # type: ignore[arg-type]
    return Answerer(searcher, generator, citations, settings), generator


def drafts(events: Iterable[AnswerEvent]) -> list[str]:
    """The draft texts streamed, in order."""
    return [e.text for e in events if isinstance(e, DraftText)]


def finished(events: Sequence[AnswerEvent]) -> Answer:
    """The answer of the last event, which must be the only Finished one."""
    assert [type(e) for e in events].count(Finished) == 1
    last = events[-1]
    assert isinstance(last, Finished)
    return last.answer


def best_cosine(index: DocumentIndex, embedder: FakeEmbedder, question: str) -> float:
    """The best passage cosine of a question: what the relevance refusal compares."""
    hits = index.vector_search(embedder.embed_query(question), 1, SearchFilter())
    return hits[0][1]
