"""Citations and sentence checks of an answer: invented markers, attribution, repair."""

from __future__ import annotations

import pytest

from indexes.library import DocumentIndex
from rag.answers import Answer, Query
from rag.citations import Origin
from rag.prompt import source_label
from rag.replies import strip_echoed_labels
from rag.retrieval import RetrievalConfig, Retriever
from tests.unit.answering_kit import answerer, card_library
from tests.unit.fakes import FakeEmbedder, MakeItem

CARD_FEE = "What is the card fee?"


@pytest.fixture
def library(index: DocumentIndex, item: MakeItem) -> DocumentIndex:
    return card_library(index, item)


def verified_answer(
    library: DocumentIndex, embedder: FakeEmbedder, reply: list[str], drop: bool = False
) -> Answer:
    """The answer to CARD_FEE when the model replies `reply` (any relevance, threshold 0.3)."""
    core, _ = answerer(library, embedder, reply, min_relevance=-1.0,
                       verification_threshold=0.3, drop_unverified=drop)
    return core.ask(Query(CARD_FEE))


def test_invented_markers_are_dropped_and_unmarked_sentences_attributed(
    library: DocumentIndex, embedder: FakeEmbedder
) -> None:
    core, _ = answerer(library, embedder, [
        "The card fee is five euros per month [9]. ", "Cards are renewed every three years.",
    ])
    answer = core.ask(Query("What is the monthly card fee?"))
    assert answer.text == (
        "The card fee is five euros per month. Cards are renewed every three years."
    )
    assert "[9]" not in answer.text
    assert [c.origin for c in answer.citations] == [Origin.ATTRIBUTION, Origin.ATTRIBUTION]
    assert {c.chunk_id for c in answer.citations} == {answer.sources[0].stored.chunk.chunk_id}


def test_unverified_sentences_are_flagged_or_dropped(
    library: DocumentIndex, embedder: FakeEmbedder
) -> None:
    reply = ["The card fee is five euros per month [1]. ", "Cards cost 40 euros to replace [1]."]
    flagged = verified_answer(library, embedder, reply)
    assert [c.verified for c in flagged.checks] == [True, False]
    assert "40 euros" in flagged.text
    dropped = verified_answer(library, embedder, reply, drop=True)
    assert "40" not in dropped.text and dropped.text.startswith("The card fee is five euros")
    assert [c.verified for c in dropped.checks] == [True]
    assert all(c.sentence == 0 for c in dropped.citations)


def test_source_headers_echoed_by_the_model_are_removed(
    library: DocumentIndex, embedder: FakeEmbedder
) -> None:
    hits = Retriever(library, embedder, RetrievalConfig()).search("card fee", 2)
    echoed = f"[1] {source_label(hits[0])} The card fee is five euros per month."
    assert strip_echoed_labels(echoed, hits) == "[1] The card fee is five euros per month."


def test_a_citation_to_the_wrong_source_is_repaired(
    library: DocumentIndex, embedder: FakeEmbedder
) -> None:
    hits = Retriever(library, embedder, RetrievalConfig()).search(CARD_FEE, 3)
    wrong = next(n for n, h in enumerate(hits, 1) if h.stored.document.title != "Card tariffs")
    answer = verified_answer(library, embedder,
                             [f"The card fee is five euros per month [{wrong}]."])
    assert not answer.refused and answer.checks[0].verified
    assert [(c.title, c.origin) for c in answer.citations] == [("Card tariffs", Origin.REPAIR)]


def test_a_sentence_no_source_verifies_keeps_its_citation_and_stays_unverified(
    library: DocumentIndex, embedder: FakeEmbedder
) -> None:
    reply = ["The card fee is five euros per month [1]. ", "Mortgages cost 99 euros [2]."]
    answer = verified_answer(library, embedder, reply)
    assert [c.verified for c in answer.checks] == [True, False]
    assert all(c.origin != "repair" for c in answer.citations)
