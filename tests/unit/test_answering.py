"""The answering core with a fake generator: refusals, streaming, citations."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from indexes.filters import SearchFilter
from indexes.library import DocumentIndex
from rag.answering import Answer, AnswerConfig, Answerer
from rag.citations import CitationBuilder
from rag.prompt import REFUSAL_EN, REFUSAL_FR, SYSTEM_PROMPT
from rag.replies import is_refusal, refusal_text
from rag.retrieval import RetrievalConfig, Retriever
from tests.unit.fakes import FakeEmbedder, FakeGenerator, MakeItem

CARD = "The card fee is five euros per month. Cards are renewed every three years."
MORTGAGE = "Mortgage rates are fixed for ten years. Early repayment carries a penalty."
FRAIS = "Les frais de tenue de compte sont de deux euros par mois."


@pytest.fixture
def library(index: DocumentIndex, item: MakeItem) -> DocumentIndex:
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
) -> tuple[Answerer, FakeGenerator]:
    generator = FakeGenerator(pieces, context_size=context_size)
    retriever = Retriever(index, embedder, RetrievalConfig())
    citations = CitationBuilder(embedder.embed_passages, index.similarity)
    config = AnswerConfig(top_k=3, min_relevance=min_relevance)
    return Answerer(retriever, generator, citations, config), generator


def split(events: list[str | Answer]) -> tuple[list[str], Answer]:
    *pieces, answer = events
    assert isinstance(answer, Answer)
    assert all(isinstance(p, str) for p in pieces)
    return pieces, answer  # type: ignore[return-value]


def best_cosine(index: DocumentIndex, embedder: FakeEmbedder, question: str) -> float:
    hits = index.vector_search(embedder.embed_query(question), 1, SearchFilter())
    return hits[0][1]


def test_off_topic_question_is_refused_in_english(
    library: DocumentIndex, embedder: FakeEmbedder
) -> None:
    question = "Will it rain tomorrow during the football match?"
    assert best_cosine(library, embedder, question) < 0.9
    core, generator = answerer(library, embedder, ["should never be used"], min_relevance=0.9)
    pieces, answer = split(list(core.stream(question)))
    assert pieces == [REFUSAL_EN]
    assert answer.refused is True
    assert answer.text == REFUSAL_EN
    assert answer.citations == []
    assert answer.model == "fake-llm"
    assert generator.calls == []
    assert "total_s" in answer.timings


def test_off_topic_question_in_french_gets_the_french_refusal(
    library: DocumentIndex, embedder: FakeEmbedder
) -> None:
    question = "Est-ce qu'il va pleuvoir demain pendant le match de football ?"
    assert best_cosine(library, embedder, question) < 0.9
    core, generator = answerer(library, embedder, ["jamais"], min_relevance=0.9)
    answer = core.ask(question)
    assert answer.refused is True
    assert answer.text == REFUSAL_FR
    assert answer.citations == []
    assert generator.calls == []


def test_normal_question_streams_pieces_then_a_cited_answer(
    library: DocumentIndex, embedder: FakeEmbedder
) -> None:
    question = "What is the monthly card fee?"
    chunks = ["The card fee ", "is five euros per month", " [1]."]
    core, generator = answerer(library, embedder, chunks)
    pieces, answer = split(list(core.stream(question)))
    assert pieces == chunks
    assert answer.refused is False
    assert answer.text == "The card fee is five euros per month [1]."
    assert answer.sources
    assert answer.sources[0].stored.chunk.text == CARD
    assert answer.citations
    source_ids = {h.stored.chunk.chunk_id for h in answer.sources}
    for citation in answer.citations:
        assert citation.chunk_id in source_ids
        source = answer.sources[citation.number - 1].stored.chunk
        assert citation.chunk_id == source.chunk_id
        assert citation.quote == source.text[citation.start:citation.end]
    first = answer.citations[0]
    assert (first.number, first.origin, first.title) == (1, "model", "Card tariffs")
    assert first.quote == "The card fee is five euros per month."
    assert {"retrieval_s", "first_token_s", "total_s"} <= set(answer.timings)

    # The model saw the system rules, the numbered source and the question.
    (messages,) = generator.calls
    assert messages[0] == {"role": "system", "content": SYSTEM_PROMPT}
    assert messages[1]["role"] == "user"
    assert f"[1] Card tariffs\n{CARD}" in messages[1]["content"]
    assert messages[1]["content"].endswith(f"Question: {question}")


def test_invented_markers_are_dropped_and_unmarked_sentences_attributed(
    library: DocumentIndex, embedder: FakeEmbedder
) -> None:
    core, _ = answerer(library, embedder, [
        "The card fee is five euros per month [9]. ", "Cards are renewed every three years.",
    ])
    answer = core.ask("What is the monthly card fee?")
    assert answer.text == (
        "The card fee is five euros per month. Cards are renewed every three years."
    )
    assert "[9]" not in answer.text
    assert [c.origin for c in answer.citations] == ["attribution", "attribution"]
    assert {c.chunk_id for c in answer.citations} == {answer.sources[0].stored.chunk.chunk_id}


@pytest.mark.parametrize("reply", ["I don't know.", "I don’t know from the documents [1].",
                                   "Je ne sais pas.", "   "])
def test_model_refusal_becomes_a_refusal_without_citations(
    library: DocumentIndex, embedder: FakeEmbedder, reply: str
) -> None:
    core, generator = answerer(library, embedder, [reply])
    pieces, answer = split(list(core.stream("What is the monthly card fee?")))
    assert pieces == [reply]  # what was streamed stays streamed
    assert len(generator.calls) == 1
    assert answer.refused is True
    assert answer.text == REFUSAL_EN
    assert answer.citations == []
    assert answer.sources


def test_filter_hides_the_only_relevant_source(
    library: DocumentIndex, embedder: FakeEmbedder
) -> None:
    core, generator = answerer(library, embedder, ["The card fee is five euros [1]."],
                               min_relevance=0.5)
    visible = core.ask("What is the monthly card fee?", SearchFilter(groups=frozenset({"retail"})))
    assert visible.refused is False
    hidden = core.ask("What is the monthly card fee?",
                      SearchFilter(groups=frozenset({"lending"})))
    assert hidden.refused is True
    assert all(h.stored.document.title == "Mortgages" for h in hidden.sources)
    assert len(generator.calls) == 1


def test_small_context_keeps_fewer_sources(library: DocumentIndex, embedder: FakeEmbedder) -> None:
    question = "What is the monthly card fee?"

    def words(text: str) -> int:
        return len(text.split())

    # Room for the rules, the question and exactly one source (less than 32 tokens to spare).
    first_source = words(f"[1] Card tariffs\n{CARD}") + 2
    budget = words(SYSTEM_PROMPT) + words(question) + 32 + first_source + 10
    core, generator = answerer(library, embedder, ["The card fee is five euros [1][3]."],
                               context_size=256 + budget)
    answer = core.ask(question)
    assert [h.stored.chunk.text for h in answer.sources] == [CARD]
    assert answer.text == "The card fee is five euros [1]."
    assert "[2]" not in generator.calls[0][1]["content"]
    assert [c.number for c in answer.citations] == [1]


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


def _verifying(
    index: DocumentIndex, embedder: FakeEmbedder, pieces: Sequence[str], drop: bool
) -> Answerer:
    retriever = Retriever(index, embedder, RetrievalConfig())
    citations = CitationBuilder(embedder.embed_passages, index.similarity)
    config = AnswerConfig(top_k=3, min_relevance=-1.0, verification_threshold=0.3,
                          drop_unverified=drop)
    return Answerer(retriever, FakeGenerator(pieces), citations, config)


def test_answer_with_no_verified_sentence_becomes_i_dont_know(
    library: DocumentIndex, embedder: FakeEmbedder
) -> None:
    answer = _verifying(library, embedder, ["The card fee is 99 euros per month [1]."],
                        drop=False).ask("What is the card fee?")
    assert answer.refused and answer.citations == [] and answer.text == REFUSAL_EN


def test_unverified_sentences_are_flagged_or_dropped(
    library: DocumentIndex, embedder: FakeEmbedder
) -> None:
    reply = ["The card fee is five euros per month [1]. ", "Cards cost 40 euros to replace [1]."]
    flagged = _verifying(library, embedder, reply, drop=False).ask("What is the card fee?")
    assert [c.verified for c in flagged.checks] == [True, False]
    assert "40 euros" in flagged.text
    dropped = _verifying(library, embedder, reply, drop=True).ask("What is the card fee?")
    assert "40" not in dropped.text and dropped.text.startswith("The card fee is five euros")
    assert [c.verified for c in dropped.checks] == [True]
    assert all(c.sentence == 0 for c in dropped.citations)


def test_source_headers_echoed_by_the_model_are_removed(
    library: DocumentIndex, embedder: FakeEmbedder
) -> None:
    from rag.prompt import source_label
    from rag.replies import strip_echoed_labels

    retriever = Retriever(library, embedder, RetrievalConfig())
    hits = retriever.search("card fee", 2)
    echoed = f"[1] {source_label(hits[0])} The card fee is five euros per month."
    assert strip_echoed_labels(echoed, hits) == "[1] The card fee is five euros per month."


def test_a_citation_to_the_wrong_source_is_repaired(
    library: DocumentIndex, embedder: FakeEmbedder
) -> None:
    question = "What is the card fee?"
    hits = Retriever(library, embedder, RetrievalConfig()).search(question, 3)
    wrong = next(n for n, h in enumerate(hits, 1) if h.stored.document.title != "Card tariffs")
    reply = [f"The card fee is five euros per month [{wrong}]."]
    answer = _verifying(library, embedder, reply, drop=False).ask(question)
    assert not answer.refused and answer.checks[0].verified
    assert [(c.title, c.origin) for c in answer.citations] == [("Card tariffs", "repair")]


def test_a_sentence_no_source_verifies_keeps_its_citation_and_stays_unverified(
    library: DocumentIndex, embedder: FakeEmbedder
) -> None:
    reply = ["The card fee is five euros per month [1]. ", "Mortgages cost 99 euros [2]."]
    answer = _verifying(library, embedder, reply, drop=False).ask("What is the card fee?")
    assert [c.verified for c in answer.checks] == [True, False]
    assert all(c.origin != "repair" for c in answer.citations)


@pytest.mark.parametrize("verdict", ["No.", "no", "Non", " NO, the passage does not say."])
def test_an_answer_whose_cited_passage_does_not_answer_the_question_is_refused(
    library: DocumentIndex, embedder: FakeEmbedder, verdict: str
) -> None:
    core, generator = answerer(library, embedder, ["The card fee is five euros per month [1]."],
                               min_relevance=-1.0)
    generator.verdict = verdict
    answer = core.ask("What is the card fee?")
    assert answer.refused and answer.refusal_reason == "answer-check"
    assert answer.text == REFUSAL_EN and answer.citations == []
    # The check is a fresh context: the cited passage and the question, not the answer.
    ((check,),) = generator.checks
    assert CARD in check["content"] and "What is the card fee?" in check["content"]
    assert "five euros per month [1]" not in check["content"]
    assert "answer_check_s" in answer.timings


@pytest.mark.parametrize(("verdicts", "refused"), [(["No", "Yes"], False), (["No", "No"], True)])
def test_a_side_remark_from_another_source_gets_the_answer_judged_on_its_own_source(
    library: DocumentIndex, embedder: FakeEmbedder, verdicts: list[str], refused: bool
) -> None:
    question = "What is the card fee?"
    hits = Retriever(library, embedder, RetrievalConfig()).search(question, 3)
    number = {h.stored.document.title: n for n, h in enumerate(hits, 1)}
    reply = [f"The card fee is five euros per month [{number['Card tariffs']}]. ",
             f"Mortgage rates are fixed for ten years [{number['Mortgages']}]."]
    core, generator = answerer(library, embedder, reply, min_relevance=-1.0)
    generator.verdicts = list(verdicts)
    answer = core.ask(question)
    assert answer.refused is refused
    both, main = (check["content"] for (check,) in generator.checks)
    assert CARD in both and MORTGAGE in both
    assert CARD in main and MORTGAGE not in main


def test_a_confirmed_answer_is_kept_and_the_check_can_be_turned_off(
    library: DocumentIndex, embedder: FakeEmbedder
) -> None:
    core, generator = answerer(library, embedder, ["The card fee is five euros per month [1]."],
                               min_relevance=-1.0)
    answer = core.ask("What is the card fee?")
    assert not answer.refused and answer.refusal_reason is None and len(generator.checks) == 1
    core.config = AnswerConfig(top_k=3, min_relevance=-1.0, answer_check=False)
    generator.verdict = "No"
    assert not core.ask("What is the card fee?").refused
    assert len(generator.checks) == 1


def test_refusals_say_why(library: DocumentIndex, embedder: FakeEmbedder) -> None:
    core, _ = answerer(library, embedder, ["I don't know."], min_relevance=-1.0)
    assert core.ask("What is the card fee?").refusal_reason == "model"
    core, _ = answerer(library, embedder, ["x"], min_relevance=0.99)
    assert core.ask("Will it rain?").refusal_reason == "relevance"
    core, _ = answerer(library, embedder, ["The card fee is 99 euros [1]."], min_relevance=-1.0)
    assert core.ask("What is the card fee?").refusal_reason == "unverified"
