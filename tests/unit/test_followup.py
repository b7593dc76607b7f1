"""Follow-up questions: rewritten from the conversation, then searched, prompted and checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.settings import load_settings
from api.wiring import build_services
from indexes.library import DocumentIndex
from rag.answers import Query, Retrieved, Speaker, Turn
from rag.followup import (
    REWRITE_INSTRUCTION,
    bounded_history,
    clean_rewrite,
    follow_up_language,
    rewrite_messages,
    shown_language,
)
from rag.generation import GenerationConfig, Purpose
from rag.prompt import REFUSAL_FR
from tests.unit.answering_kit import answerer
from tests.unit.fakes import FakeEmbedder, FakeGenerator, MakeItem, word_count

PARIS = "What is the hotel cap per night in Paris?"
PARIS_ANSWER = "The hotel cap per night in Paris is 210 euros [1]."
FOLLOW_UP = "And for Lyon?"
STANDALONE = "What is the hotel cap per night for Lyon?"
HISTORY = (Turn(Speaker.USER, PARIS), Turn(Speaker.ASSISTANT, PARIS_ANSWER))
HOTELS = "The hotel cap per night in Lyon is 150 euros."
# Says "Lyon" more than the hotel passage does: the follow-up as asked finds it first.
TRAINS = "Trains to Lyon leave from Gare de Lyon every hour; Lyon tickets are refunded."
LYON_REPLY = ["The hotel cap per night in Lyon is 150 euros [1]."]


@pytest.fixture
def library(index: DocumentIndex, item: MakeItem) -> DocumentIndex:
    index.add([item("Hotels", [HOTELS]), item("Trains", [TRAINS])])
    return index


def test_the_follow_up_is_searched_prompted_and_checked_as_rewritten(
    library: DocumentIndex, embedder: FakeEmbedder
) -> None:
    core, generator = answerer(library, embedder, LYON_REPLY, min_relevance=-1.0)
    # As asked, the follow-up finds the passage that says "Lyon" most: the trains.
    alone = core.ask(Query(FOLLOW_UP, top_k=1))
    assert [h.stored.document.title for h in alone.sources] == ["Trains"]
    generator.rewrites = {FOLLOW_UP: STANDALONE}
    generator.checks.clear()
    events = list(core.stream(Query(FOLLOW_UP, history=HISTORY, top_k=1)))
    answer = events[-1].answer  # type: ignore[union-attr]
    assert [h.stored.document.title for h in answer.sources] == ["Hotels"]
    assert not answer.refused and answer.citations[0].title == "Hotels"
    assert answer.question == FOLLOW_UP and answer.standalone_question == STANDALONE
    first = events[0]
    assert isinstance(first, Retrieved) and first.standalone_question == STANDALONE
    # The model is asked the standalone question, and the check judges against it.
    assert generator.calls[-1][1]["content"].endswith(f"Question: {STANDALONE}")
    ((check,),) = generator.checks
    assert f"Question: {STANDALONE}\n" in check["content"]
    assert answer.timings.rewrite_s is not None and "rewrite_s" in answer.timings.as_dict()
    timings = answer.timings
    assert timings.rewrite_s + timings.retrieval_s <= timings.total_s  # from the rewrite on


def test_without_history_the_model_is_asked_nothing_before_the_answer(
    library: DocumentIndex, embedder: FakeEmbedder
) -> None:
    core, generator = answerer(library, embedder, LYON_REPLY, min_relevance=-1.0)
    generator.rewrites = {FOLLOW_UP: STANDALONE}
    answer = core.ask(Query(FOLLOW_UP, conversation_id="teams-42"))
    assert generator.rewritten == [] and generator.translated == []
    assert len(generator.calls) == 1 and generator.calls[0][1]["content"].endswith(
        f"Question: {FOLLOW_UP}")
    assert answer.standalone_question is None and answer.timings.rewrite_s is None
    assert "rewrite_s" not in answer.timings.as_dict()
    # Blank turns are no history either.
    core.ask(Query(FOLLOW_UP, history=(Turn(Speaker.USER, "  "),)))
    assert generator.rewritten == []


def test_a_rejected_rewrite_falls_back_to_the_question_as_asked(
    library: DocumentIndex, embedder: FakeEmbedder
) -> None:
    core, generator = answerer(library, embedder, LYON_REPLY, min_relevance=-1.0)
    generator.rewrites = {FOLLOW_UP: "The hotel cap in Lyon is 150 euros [1]."}
    answer = core.ask(Query(FOLLOW_UP, history=HISTORY, top_k=1))
    assert len(generator.rewritten) == 1 and answer.standalone_question is None
    assert answer.timings.rewrite_s is not None  # it ran
    assert [h.stored.document.title for h in answer.sources] == ["Trains"]
    assert generator.calls[-1][1]["content"].endswith(f"Question: {FOLLOW_UP}")


def test_a_refusal_speaks_the_language_of_the_standalone_question(
    library: DocumentIndex, embedder: FakeEmbedder
) -> None:
    core, generator = answerer(library, embedder, ["x"], min_relevance=0.99)
    generator.rewrites = {"Lyon ?": "Quel est le plafond d'hôtel par nuit à Lyon ?"}
    history = (Turn(Speaker.USER, "Quel est le plafond d'hôtel par nuit à Paris ?"),)
    answer = core.ask(Query("Lyon ?", history=history))
    assert answer.refused and answer.text == REFUSAL_FR
    assert answer.standalone_question == "Quel est le plafond d'hôtel par nuit à Lyon ?"


def test_the_rewrite_prompt_holds_the_newest_turns_within_the_budget(
    library: DocumentIndex, embedder: FakeEmbedder
) -> None:
    old = (Turn(Speaker.USER, "How do I reset my password please?"),
           Turn(Speaker.ASSISTANT, "Use the self-service portal [2]."))
    # Room for the last question and answer (without its marker), not for the turn before.
    shown = f"User: {PARIS} Assistant: The hotel cap per night in Paris is 210 euros."
    core, generator = answerer(library, embedder, LYON_REPLY, min_relevance=-1.0,
                               history_tokens=word_count(shown) + 3)
    core.ask(Query(FOLLOW_UP, history=old + HISTORY))
    ((system, user),) = generator.rewritten
    assert system == {"role": "system", "content": REWRITE_INSTRUCTION}
    content = user["content"]
    assert f"User: {PARIS}\nAssistant: The hotel cap per night in Paris is 210 euros." in content
    assert "password" not in content and "portal" not in content and "[1]" not in content
    assert content.endswith(f"Follow-up question: {FOLLOW_UP}\n\nStandalone question:")


def test_history_keeps_the_newest_turns_and_cuts_the_one_that_does_not_fit() -> None:
    turns = [Turn(Speaker.USER, f"question {n} " + "word " * 8) for n in range(4)]
    budget = 2 * word_count(f"User: {turns[0].text}")
    assert bounded_history(turns, budget, word_count) == tuple(
        Turn(Speaker.USER, " ".join(t.text.split())) for t in turns[2:])
    long_answer = Turn(Speaker.ASSISTANT, " ".join(f"w{n}" for n in range(100)))
    (cut,) = bounded_history([turns[0], long_answer], 40, word_count)
    assert cut.speaker is Speaker.ASSISTANT and cut.text.split() == [f"w{n}" for n in range(39)]
    assert bounded_history(turns, 0, word_count) == ()
    assert bounded_history(turns, 10, word_count) == ()  # too little room to cut a turn into


def test_the_rewrite_messages_put_the_follow_up_on_one_line() -> None:
    (_, user) = rewrite_messages("And\nfor Lyon?", HISTORY)
    assert "Follow-up question: And for Lyon?\n" in user["content"]
    assert "Conversation:\nUser: " in user["content"]


@pytest.mark.parametrize(("output", "expected"), [
    (STANDALONE, STANDALONE),
    (f'Standalone question: "{STANDALONE}"', STANDALONE),
    (f"**Standalone question:** {STANDALONE}", STANDALONE),
    (f"\n\nRewritten question:\n{STANDALONE}\nThe cap is 150 euros.", STANDALONE),
    (f"“{STANDALONE}”", STANDALONE),
    ("", None),
    ("  \n ", None),
    ('"and for lyon?"', None),  # the follow-up unchanged
    ("The hotel cap per night in Lyon is 150 euros [1].", None),  # an answer
    ("What is the hotel cap per night for Lyon? " + "And more words. " * 10, None),
    ("Quel est le plafond d'hôtel par nuit pour Lyon ?", None),  # another language
])
def test_cleaning_the_models_rewrite(output: str, expected: str | None) -> None:
    assert clean_rewrite(output, FOLLOW_UP, "en", len(PARIS)) == expected


def test_a_french_follow_up_keeps_a_french_rewrite_only() -> None:
    question = "Et pour un temps partiel ?"
    french = "Combien de jours de télétravail par semaine pour un temps partiel ?"
    assert follow_up_language(question, HISTORY) == "fr"
    assert clean_rewrite(f"« {french} »", question, "fr", 70) == french
    assert clean_rewrite(f"Question reformulée : {french}", question, "fr", 70) == french
    english = "How many remote-working days per week for a part-time employee?"
    assert clean_rewrite(english, question, "fr", 70) is None


def test_a_bare_follow_up_takes_the_language_of_the_conversation() -> None:
    assert shown_language("Lyon ?") is None
    assert shown_language("And in London?") == "en"
    french = (Turn(Speaker.USER, "Quel est le plafond d'hôtel à Paris ?"),)
    assert follow_up_language("Lyon ?", french) == "fr"
    assert follow_up_language("Lyon ?", HISTORY) == "en"
    assert follow_up_language("Lyon ?", french, known="en") == "en"


def test_the_fake_model_rewrites_by_the_follow_up() -> None:
    generator = FakeGenerator()
    generator.rewrites = {FOLLOW_UP: STANDALONE}
    config = GenerationConfig(purpose=Purpose.REWRITE)
    assert "".join(generator.stream(rewrite_messages(FOLLOW_UP, HISTORY), config)) == STANDALONE
    assert "".join(generator.stream(rewrite_messages("Other?", HISTORY), config)) == "Other?"
    assert len(generator.rewritten) == 2 and generator.calls == []


def test_the_history_budget_is_a_setting(tmp_path: Path, embedder: FakeEmbedder) -> None:
    settings = load_settings(data_dir=tmp_path / "data", history_tokens=64)
    services = build_services(settings, embedder=embedder, generator=FakeGenerator())
    try:
        assert services.answerer.config.history_tokens == 64
    finally:
        services.close()
