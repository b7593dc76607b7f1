"""When the answering core says "I don't know", and that it says why."""

from __future__ import annotations

import pytest

from indexes.filters import SearchFilter
from indexes.library import DocumentIndex
from rag.answers import CheckedSentence, Query, RefusalReason
from rag.prompt import REFUSAL_EN, REFUSAL_FR
from rag.replies import is_refusal, refusal_text
from rag.retrieval import RetrievalConfig, Retriever
from tests.unit.answering_kit import answerer, best_cosine, card_library, drafts, finished
from tests.unit.fakes import FakeEmbedder, MakeItem

CARD_FEE = Query("What is the monthly card fee?")


@pytest.fixture
def library(index: DocumentIndex, item: MakeItem) -> DocumentIndex:
    return card_library(index, item)


def test_off_topic_question_is_refused_in_english(
    library: DocumentIndex, embedder: FakeEmbedder
) -> None:
    question = "Will it rain tomorrow during the football match?"
    assert best_cosine(library, embedder, question) < 0.9
    core, generator = answerer(library, embedder, ["should never be used"], min_relevance=0.9)
    events = list(core.stream(Query(question)))
    assert drafts(events) == [REFUSAL_EN]
    assert not any(isinstance(e, CheckedSentence) for e in events)
    answer = finished(events)
    assert answer.refused is True
    assert answer.text == REFUSAL_EN
    assert answer.citations == ()
    assert answer.model == "fake-llm"
    assert answer.refusal_reason is RefusalReason.RELEVANCE
    assert generator.calls == []
    assert answer.timings.total_s > 0 and "total_s" in answer.timings.as_dict()


def test_off_topic_question_in_french_gets_the_french_refusal(
    library: DocumentIndex, embedder: FakeEmbedder
) -> None:
    question = "Est-ce qu'il va pleuvoir demain pendant le match de football ?"
    assert best_cosine(library, embedder, question) < 0.9
    core, generator = answerer(library, embedder, ["jamais"], min_relevance=0.9)
    answer = core.ask(Query(question))
    assert answer.refused is True
    assert answer.text == REFUSAL_FR
    assert answer.citations == ()
    assert generator.calls == []


@pytest.mark.parametrize("reply", ["I don't know.", "I don’t know from the documents [1].",
                                   "Je ne sais pas.", "   "])
def test_model_refusal_becomes_a_refusal_without_citations(
    library: DocumentIndex, embedder: FakeEmbedder, reply: str
) -> None:
    core, generator = answerer(library, embedder, [reply])
    events = list(core.stream(CARD_FEE))
    assert drafts(events) == [reply]  # what was streamed stays streamed
    assert not any(isinstance(e, CheckedSentence) for e in events)
    answer = finished(events)
    assert len(generator.calls) == 1
    assert answer.refused is True
    assert answer.text == REFUSAL_EN
    assert answer.citations == ()
    assert answer.sources


def test_filter_hides_the_only_relevant_source(
    library: DocumentIndex, embedder: FakeEmbedder
) -> None:
    core, generator = answerer(library, embedder, ["The card fee is five euros [1]."],
                               min_relevance=0.5)
    question = "What is the monthly card fee?"
    retail = SearchFilter(groups=frozenset({"retail"}))
    assert core.ask(Query(question, search_filter=retail)).refused is False
    lending = SearchFilter(groups=frozenset({"lending"}))
    hidden = core.ask(Query(question, search_filter=lending))
    assert hidden.refused is True
    assert all(h.stored.document.title == "Mortgages" for h in hidden.sources)
    assert len(generator.calls) == 1


def test_refusal_helpers() -> None:
    assert refusal_text("Quel est le délai de rétractation ?") == REFUSAL_FR
    assert refusal_text("What is the withdrawal period?") == REFUSAL_EN
    assert is_refusal("Sorry, I do not know.")
    assert is_refusal("JE NE SAIS PAS")
    assert not is_refusal("The fee is five euros.")
    assert is_refusal("The CEO of the bank is not mentioned in the provided sources.")
    assert is_refusal("Le montant n'est pas mentionné dans les sources.")
    assert is_refusal("The sources do not contain the annual fee. It may be elsewhere.")
    # Later in an answer, the phrase qualifies a real answer; it is not a refusal.
    assert not is_refusal("The fee is five euros [1]. Waivers are not mentioned in the sources.")


def test_answer_with_no_verified_sentence_becomes_i_dont_know(
    library: DocumentIndex, embedder: FakeEmbedder
) -> None:
    core, _ = answerer(library, embedder, ["The card fee is 99 euros per month [1]."],
                       min_relevance=-1.0, verification_threshold=0.3)
    answer = core.ask(Query("What is the card fee?"))
    assert answer.refused and answer.citations == () and answer.text == REFUSAL_EN
    assert answer.refusal_reason is RefusalReason.UNVERIFIED


@pytest.mark.parametrize("filler", [
    "This can be found in the table provided in source [1].",
    "For more details, please refer to the document [1].",
    "Voir le tableau ci-dessus pour plus de détails [1].",
    "This is according to the card tariffs, as stated in source [1].",  # the title, named
])
def test_a_pointer_sentence_does_not_carry_an_answer_whose_claim_failed(
    library: DocumentIndex, embedder: FakeEmbedder, filler: str
) -> None:
    # The one factual sentence mangles the figure; the sentence after it points to the
    # source and would pass the support threshold on its own.
    core, _ = answerer(library, embedder, [f"The card fee is 99 euros per month [1]. {filler}"],
                       min_relevance=-1.0, verification_threshold=0.0)
    answer = core.ask(Query("What is the card fee?"))
    assert answer.refused and answer.text == REFUSAL_EN and answer.citations == ()
    assert answer.refusal_reason is RefusalReason.UNVERIFIED


def test_refusals_say_why(library: DocumentIndex, embedder: FakeEmbedder) -> None:
    core, _ = answerer(library, embedder, ["I don't know."], min_relevance=-1.0)
    assert core.ask(Query("What is the card fee?")).refusal_reason == "model"
    core, _ = answerer(library, embedder, ["x"], min_relevance=0.99)
    assert core.ask(Query("Will it rain?")).refusal_reason == "relevance"
    core, _ = answerer(library, embedder, ["The card fee is 99 euros [1]."], min_relevance=-1.0)
    assert core.ask(Query("What is the card fee?")).refusal_reason == "unverified"


_OTHER = ["Scope of this document.", "Approval and review."]


def _policies(index: DocumentIndex, item: MakeItem) -> DocumentIndex:
    index.add([
        item("remote", ["Full-time staff may work from home 2 days per week.", *_OTHER],
             path="/docs/politique-teletravail.docx", title="Politique de télétravail"),
        item("travel", ["Meals are reimbursed up to 60 euros per day.", *_OTHER],
             path="/docs/travel-and-expenses.html", title="Travel and Expenses Policy"),
        item("hours", ["Branches open at 9:00.", *_OTHER], path="/docs/branch-hours.txt",
             title="branch opening hours"),
    ])
    return index


@pytest.mark.parametrize("named, refused", [
    ("the Travel and Expenses Policy", True),  # names a document it does not cite
    ("the Politique de télétravail", False),  # names the one it cites
    ("the policy", False),  # names no document
])
def test_a_claim_naming_one_document_must_cite_that_document(
    index: DocumentIndex, item: MakeItem, embedder: FakeEmbedder, named: str, refused: bool
) -> None:
    # The cited passage holds the figure; only the document the sentence names differs.
    library = _policies(index, item)
    question = "How many days per week can full-time staff work from home?"
    hits = Retriever(library, embedder, RetrievalConfig()).search(question, 3)
    remote = 1 + [h.stored.document.title for h in hits].index("Politique de télétravail")
    reply = f"According to {named}, full-time staff may work from home 2 days per week [{remote}]."
    core, _ = answerer(library, embedder, [reply], min_relevance=-1.0,
                       verification_threshold=0.0)
    answer = core.ask(Query(question))
    assert answer.refused is refused
    if refused:
        assert answer.refusal_reason is RefusalReason.UNVERIFIED
