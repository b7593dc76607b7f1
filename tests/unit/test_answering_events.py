"""The answer's events in order, the Query's search settings, timings, the finished Answer."""

from __future__ import annotations

import dataclasses

import pytest

from indexes.filters import SearchFilter
from indexes.library import DocumentIndex
from rag.answering import Answer as ReExported
from rag.answers import (
    Answer,
    CheckedSentence,
    DraftText,
    Finished,
    Query,
    Retrieved,
    Timings,
)
from rag.prompt import SYSTEM_PROMPT
from rag.retrieval import SearchMode
from rag.search import Retrieval
from tests.unit.answering_kit import CARD, answerer, card_library, drafts, finished
from tests.unit.fakes import FakeEmbedder, MakeItem

QUESTION = "What is the monthly card fee?"


@pytest.fixture
def library(index: DocumentIndex, item: MakeItem) -> DocumentIndex:
    return card_library(index, item)


def test_normal_question_streams_events_then_a_cited_answer(
    library: DocumentIndex, embedder: FakeEmbedder
) -> None:
    chunks = ["The card fee ", "is five euros per month", " [1]."]
    core, generator = answerer(library, embedder, chunks)
    events = list(core.stream(Query(QUESTION)))
    kinds = [type(e) for e in events]
    assert kinds == [Retrieved, DraftText, DraftText, DraftText, CheckedSentence, Finished]
    assert drafts(events) == chunks
    answer = finished(events)
    retrieved = events[0]
    assert isinstance(retrieved, Retrieved) and retrieved.search_query is None
    assert retrieved.hits[0].stored.chunk.text == CARD
    assert events[4] == CheckedSentence(0, "The card fee is five euros per month. [1]", True)
    assert answer.refused is False
    assert answer.text == "The card fee is five euros per month [1]."
    assert answer.sources and answer.sources[0].stored.chunk.text == CARD
    source_ids = {h.stored.chunk.chunk_id for h in answer.sources}
    for citation in answer.citations:
        assert citation.chunk_id in source_ids
        source = answer.sources[citation.number - 1].stored.chunk
        assert citation.chunk_id == source.chunk_id
        assert citation.quote == source.text[citation.start:citation.end]
    first = answer.citations[0]
    assert (first.number, first.origin, first.title) == (1, "model", "Card tariffs")
    assert first.quote == "The card fee is five euros per month."
    # The model saw the system rules, the numbered source and the question.
    (messages,) = generator.calls
    assert messages[0] == {"role": "system", "content": SYSTEM_PROMPT}
    assert messages[1]["role"] == "user"
    assert f"[1] Card tariffs\n{CARD}" in messages[1]["content"]
    assert messages[1]["content"].endswith(f"Question: {QUESTION}")


def test_checked_sentences_follow_the_final_answer_in_order(
    library: DocumentIndex, embedder: FakeEmbedder
) -> None:
    reply = ["The card fee is five euros per month [1]. ", "Cards cost 40 euros to replace [1]."]
    core, _ = answerer(library, embedder, reply, min_relevance=-1.0,
                       verification_threshold=0.3)
    events = list(core.stream(Query("What is the card fee?")))
    checked = [e for e in events if isinstance(e, CheckedSentence)]
    assert [(c.index, c.verified) for c in checked] == [(0, True), (1, False)]
    assert [c.text for c in checked] == ["The card fee is five euros per month. [1]",
                                         "Cards cost 40 euros to replace. [1]"]
    assert [type(e) for e in events][-3:] == [CheckedSentence, CheckedSentence, Finished]
    # Dropped sentences are not announced: only the answer's sentences are.
    core, _ = answerer(library, embedder, reply, min_relevance=-1.0,
                       verification_threshold=0.3, drop_unverified=True)
    events = list(core.stream(Query("What is the card fee?")))
    checked = [e for e in events if isinstance(e, CheckedSentence)]
    assert checked == [CheckedSentence(0, "The card fee is five euros per month. [1]", True)]
    assert finished(events).text == checked[0].text


def test_ask_returns_the_finished_answer_which_is_frozen(
    library: DocumentIndex, embedder: FakeEmbedder
) -> None:
    core, _ = answerer(library, embedder, ["The card fee is five euros per month [1]."])
    answer = core.ask(Query(QUESTION))
    assert isinstance(answer, ReExported) and ReExported is Answer
    assert isinstance(answer.citations, tuple) and isinstance(answer.sources, tuple)
    assert isinstance(answer.checks, tuple) and isinstance(answer.timings, Timings)
    with pytest.raises(dataclasses.FrozenInstanceError):
        answer.text = "changed"  # type: ignore[misc]


def test_timings_are_built_once_with_every_measured_step(
    library: DocumentIndex, embedder: FakeEmbedder
) -> None:
    core, _ = answerer(library, embedder, ["The card fee ", "is five euros per month [1]."])
    timings = core.ask(Query(QUESTION)).timings
    assert timings.answer_tokens == 2 and timings.answer_check_s is not None
    assert timings.first_token_s is not None and timings.decode_s is not None
    assert 0 < timings.retrieval_s <= timings.first_token_s <= timings.total_s
    assert set(timings.as_dict()) == {"retrieval_s", "first_token_s", "decode_s",
                                      "answer_tokens", "answer_check_s", "total_s",
                                      "first_sentence_s"}
    assert timings.first_sentence_s is not None
    assert timings.first_token_s <= timings.first_sentence_s <= timings.total_s


def test_the_query_sets_top_k_filter_and_mode(
    library: DocumentIndex, embedder: FakeEmbedder
) -> None:
    core, _ = answerer(library, embedder, ["The card fee is five euros [1]."], min_relevance=-1.0)
    assert len(core.ask(Query(QUESTION)).sources) == 3  # the configured top_k
    assert len(core.ask(Query(QUESTION, top_k=1)).sources) == 1
    retail = SearchFilter(groups=frozenset({"retail"}))
    sources = core.ask(Query(QUESTION, search_filter=retail, mode=SearchMode.KEYWORD)).sources
    assert sources and {h.stored.document.title for h in sources} <= {"Card tariffs", "Tarifs"}


def test_a_given_retrieval_is_used_as_found(
    library: DocumentIndex, embedder: FakeEmbedder
) -> None:
    core, _ = answerer(library, embedder, ["The card fee is five euros per month [1]."])
    found = core.searcher.search(QUESTION, 1)
    given = Retrieval(found.hits, "the search query", seconds=0.5)
    events = list(core.stream(Query("Unrelated words entirely"), given))
    assert events[0] == Retrieved(found.hits, "the search query")
    answer = finished(events)
    assert answer.sources == found.hits and answer.search_query == "the search query"
    assert answer.timings.retrieval_s == 0.5 and answer.timings.total_s >= 0.5


def test_small_context_keeps_fewer_sources(library: DocumentIndex, embedder: FakeEmbedder) -> None:
    def words(text: str) -> int:
        return len(text.split())

    # Room for the rules, the question and exactly one source (less than 32 tokens to spare).
    first_source = words(f"[1] Card tariffs\n{CARD}") + 2
    budget = words(SYSTEM_PROMPT) + words(QUESTION) + 32 + first_source + 10
    core, generator = answerer(library, embedder, ["The card fee is five euros [1][3]."],
                               context_size=256 + budget)
    answer = core.ask(Query(QUESTION))
    assert [h.stored.chunk.text for h in answer.sources] == [CARD]
    assert answer.text == "The card fee is five euros [1]."
    assert "[2]" not in generator.calls[0][1]["content"]
    assert [c.number for c in answer.citations] == [1]


def test_another_model_answers_over_the_same_search(
    library: DocumentIndex, embedder: FakeEmbedder
) -> None:
    core, _ = answerer(library, embedder, ["unused"])
    other, generator = answerer(library, embedder, ["The card fee is five euros [1]."])
    switched = core.using(generator)
    assert switched.generator is generator and switched.config == core.config
    assert switched.searcher.retriever is core.searcher.retriever
    assert switched.ask(Query(QUESTION)).text == "The card fee is five euros [1]."
    assert other.generator is generator
