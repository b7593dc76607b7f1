"""Checked sentences go out one by one while the model writes, never in their draft form.

A channel that cannot take text back (Teams, chat front ends) shows only CheckedSentence
events: each must come as soon as its sentence is complete and checked, and only once the
answer may be shown at all (not a refusal, a verified sentence, the answer check passed).
"""

from __future__ import annotations

import pytest

from indexes.library import DocumentIndex
from rag.answers import AnswerEvent, CheckedSentence, DraftText, Finished, Query, RefusalReason
from tests.unit.answering_kit import answerer, card_library, finished
from tests.unit.fakes import FakeEmbedder, MakeItem

QUESTION = "What is the monthly card fee?"
THREE = ["The card fee ", "is five euros per month [1]. ", "Cards are renewed ",
         "every three years [1]. ", "Mortgage rates are fixed ", "for ten years [2]."]


@pytest.fixture
def library(index: DocumentIndex, item: MakeItem) -> DocumentIndex:
    return card_library(index, item)


def _kinds(events: list[AnswerEvent]) -> list[str]:
    return ["S" if isinstance(e, CheckedSentence) else "D" if isinstance(e, DraftText)
            else type(e).__name__ for e in events]


def test_each_sentence_goes_once_checked_while_the_model_writes_the_next(
    library: DocumentIndex, embedder: FakeEmbedder
) -> None:
    core, generator = answerer(library, embedder, THREE, min_relevance=-1.0)
    events = list(core.stream(Query(QUESTION)))
    # A sentence is complete when the next one begins: the first goes after the third
    # draft piece (once judged), the second after the fifth, the last at the end.
    assert _kinds(events) == ["Retrieved", "D", "D", "D", "S", "D", "D", "S", "D", "S",
                              "Finished"]
    sentences = [e for e in events if isinstance(e, CheckedSentence)]
    answer = finished(events)
    # Each with the sources that back it: the model's [2] moved to the passage saying it.
    assert [s.text for s in sentences] == [
        f"{check.text} [{citation.number}]"
        for check, citation in zip(answer.checks, answer.citations, strict=True)]
    assert [c.sentence for c in answer.citations] == [0, 1, 2]
    assert [s.index for s in sentences] == [0, 1, 2]
    # Generation paused at the first verified sentence for the answer check, then went on
    # from the text written so far.
    assert len(generator.checks) == 1
    assert generator.continued == ["".join(THREE[:3])]
    timings = answer.timings
    assert timings.first_token_s is not None and timings.first_sentence_s is not None
    assert timings.first_token_s < timings.first_sentence_s < timings.total_s


def test_the_streamed_and_the_whole_answer_are_the_same(
    library: DocumentIndex, embedder: FakeEmbedder
) -> None:
    core, _ = answerer(library, embedder, THREE, min_relevance=-1.0)
    streamed = finished(list(core.stream(Query(QUESTION))))
    whole, _ = answerer(library, embedder, ["".join(THREE)], min_relevance=-1.0)
    answer = whole.ask(Query(QUESTION))
    assert answer.text == streamed.text
    assert answer.checks == streamed.checks and answer.citations == streamed.citations


def test_nothing_goes_out_when_the_answer_check_says_no(
    library: DocumentIndex, embedder: FakeEmbedder
) -> None:
    core, generator = answerer(library, embedder, THREE[:4], min_relevance=-1.0)
    generator.verdict = "No"
    events = list(core.stream(Query(QUESTION)))
    assert not [e for e in events if isinstance(e, CheckedSentence)]
    answer = finished(events)
    assert answer.refused and answer.refusal_reason is RefusalReason.ANSWER_CHECK
    assert answer.timings.first_sentence_s is None


def test_an_unverified_sentence_is_never_sent_when_they_are_dropped(
    library: DocumentIndex, embedder: FakeEmbedder
) -> None:
    invented = "Gold cards cost 90 euros per year [1]. "
    pieces = ["The card fee is five euros per month [1]. ", invented, "Cards are renewed ",
              "every three years [1]."]
    core, _ = answerer(library, embedder, pieces, min_relevance=-1.0, drop_unverified=True)
    events = list(core.stream(Query(QUESTION)))
    sent = [e for e in events if isinstance(e, CheckedSentence)]
    assert [s.index for s in sent] == [0, 1] and all(s.verified for s in sent)
    assert not any("90" in s.text for s in sent)
    assert "90" not in finished(events).text


def test_an_unverified_sentence_goes_flagged_when_they_are_kept(
    library: DocumentIndex, embedder: FakeEmbedder
) -> None:
    pieces = ["The card fee is five euros per month [1]. ",
              "Gold cards cost 90 euros per year [1]. ", "Thank you."]
    core, _ = answerer(library, embedder, pieces, min_relevance=-1.0)
    sent = [e for e in core.stream(Query(QUESTION)) if isinstance(e, CheckedSentence)]
    assert [s.verified for s in sent][:2] == [True, False]


def test_a_reply_that_opens_with_i_dont_know_is_not_generated_further(
    library: DocumentIndex, embedder: FakeEmbedder
) -> None:
    pieces = ["I don't know. ", "The card fee ", "is five euros per month [1]. ", "More."]
    core, _ = answerer(library, embedder, pieces, min_relevance=-1.0)
    events = list(core.stream(Query(QUESTION)))
    assert not [e for e in events if isinstance(e, CheckedSentence)]
    # Stopped once the refusal was a complete sentence: the rest was never asked for.
    assert [e.text for e in events if isinstance(e, DraftText)] == pieces[:2]
    answer = finished(events)
    assert answer.refused and answer.refusal_reason is RefusalReason.MODEL


def test_a_verified_sentence_after_unverified_ones_takes_them_along(
    library: DocumentIndex, embedder: FakeEmbedder
) -> None:
    pieces = ["Branches open at 9 on weekdays. ", "The card fee ",
              "is five euros per month [1]. ", "Bye."]
    core, _ = answerer(library, embedder, pieces, min_relevance=-1.0)
    events = list(core.stream(Query(QUESTION)))
    sent = [e for e in events if isinstance(e, CheckedSentence)]
    assert [(s.index, s.verified) for s in sent][:2] == [(0, False), (1, True)]
    assert isinstance(events[-1], Finished)
