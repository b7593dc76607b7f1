"""The answer check: the model judges, in a fresh context, whether the cited passages answer."""

from __future__ import annotations

import pytest

from indexes.library import DocumentIndex
from rag.answering import AnswerConfig, Answerer
from rag.answers import Query, RefusalReason
from rag.generation import GenerationConfig, Purpose
from rag.prompt import CHECK_INSTRUCTION, REFUSAL_EN
from rag.retrieval import RetrievalConfig, Retriever
from tests.unit.answering_kit import CARD, MORTGAGE, answerer, card_library
from tests.unit.fakes import FakeEmbedder, FakeGenerator, MakeItem

CARD_FEE = "What is the card fee?"
REPLY = ["The card fee is five euros per month [1]."]


@pytest.fixture
def library(index: DocumentIndex, item: MakeItem) -> DocumentIndex:
    return card_library(index, item)


@pytest.mark.parametrize("verdict", ["No.", "no", "Non", " NO, the passage does not say."])
def test_an_answer_whose_cited_passage_does_not_answer_the_question_is_refused(
    library: DocumentIndex, embedder: FakeEmbedder, verdict: str
) -> None:
    core, generator = answerer(library, embedder, REPLY, min_relevance=-1.0)
    generator.verdict = verdict
    answer = core.ask(Query(CARD_FEE))
    assert answer.refused and answer.refusal_reason is RefusalReason.ANSWER_CHECK
    assert answer.text == REFUSAL_EN and answer.citations == ()
    # The check is a fresh context: the cited passage and the question, not the answer.
    ((check,),) = generator.checks
    assert CARD in check["content"] and CARD_FEE in check["content"]
    assert "five euros per month [1]" not in check["content"]
    assert answer.timings.answer_check_s is not None


def _with_a_side_remark(
    library: DocumentIndex, embedder: FakeEmbedder
) -> tuple[Answerer, FakeGenerator]:
    """An answerer whose reply cites the card tariffs, then a mortgage remark."""
    hits = Retriever(library, embedder, RetrievalConfig()).search(CARD_FEE, 3)
    number = {h.stored.document.title: n for n, h in enumerate(hits, 1)}
    reply = [f"The card fee is five euros per month [{number['Card tariffs']}]. ",
             f"Mortgage rates are fixed for ten years [{number['Mortgages']}]."]
    return answerer(library, embedder, reply, min_relevance=-1.0)


@pytest.mark.parametrize(("verdicts", "refused"), [(["No", "Yes"], False), (["No", "No"], True)])
def test_an_answer_whose_own_source_is_judged_no_is_judged_again_on_all_it_cites(
    library: DocumentIndex, embedder: FakeEmbedder, verdicts: list[str], refused: bool
) -> None:
    core, generator = _with_a_side_remark(library, embedder)
    generator.verdicts = list(verdicts)
    answer = core.ask(Query(CARD_FEE))
    assert answer.refused is refused
    # The first verified sentence's source first (while generation paused), then both.
    main, both = (check["content"] for (check,) in generator.checks)
    assert CARD in main and MORTGAGE not in main
    assert CARD in both and MORTGAGE in both


def test_a_yes_for_the_answers_own_source_is_enough(
    library: DocumentIndex, embedder: FakeEmbedder
) -> None:
    core, generator = _with_a_side_remark(library, embedder)
    generator.verdicts = ["Yes", "No"]
    answer = core.ask(Query(CARD_FEE))
    assert not answer.refused and len(generator.checks) == 1
    assert len(answer.checks) == 2


def test_a_confirmed_answer_is_kept_and_the_check_can_be_turned_off(
    library: DocumentIndex, embedder: FakeEmbedder
) -> None:
    core, generator = answerer(library, embedder, REPLY, min_relevance=-1.0)
    answer = core.ask(Query(CARD_FEE))
    assert not answer.refused and answer.refusal_reason is None and len(generator.checks) == 1
    core.config = AnswerConfig(top_k=3, min_relevance=-1.0, answer_check=False)
    generator.verdict = "No"
    unchecked = core.ask(Query(CARD_FEE))
    assert not unchecked.refused and unchecked.timings.answer_check_s is None
    assert len(generator.checks) == 1


def test_the_fake_model_answers_by_the_requests_purpose_not_its_wording() -> None:
    generator = FakeGenerator(["the answer"], verdict="No")
    generator.translations = {"Bonjour": "Hello"}
    # A question that happens to end like the check instruction is still a question.
    question = [{"role": "user", "content": f"Passage: x\n\n{CHECK_INSTRUCTION}"}]
    assert list(generator.stream(question, GenerationConfig())) == ["the answer"]
    checked = list(generator.stream(question, GenerationConfig(purpose=Purpose.CHECK)))
    translated = [{"role": "user", "content": "Bonjour"}]
    assert checked == ["No"]
    assert list(generator.stream(translated, GenerationConfig(purpose=Purpose.TRANSLATE))) == [
        "Hello"
    ]
    assert (len(generator.calls), len(generator.checks), generator.translated) == (1, 1,
                                                                                   ["Bonjour"])
