"""Table passages read row by row: the row a sentence names and the figures it may state."""

from __future__ import annotations

from indexes.library import DocumentIndex
from rag.answering import AnswerConfig, Answerer
from rag.answers import Query
from rag.citations import CitationBuilder, Sentence
from rag.replies import strip_echoed_instructions
from rag.retrieval import Hit, RetrievalConfig, Retriever
from rag.search import Searcher
from rag.tables import parse_table
from rag.verification import ROW_MISMATCH, admissible_numbers, correct_row_figures, verify
from tests.unit.fakes import FakeEmbedder, FakeGenerator, MakeItem

LTV = """Product | Maximum LTV | Maximum term | Additional condition
Residential mortgage - first-time buyer | 90% | 35 years | Insurance required above 85% LTV
Buy-to-let mortgage | 70% | 25 years | Rental income must cover 125% of interest
Second home / holiday home mortgage | 75% | 25 years | Not available via brokers
Bridging loan | 65% | 12 months | Exit strategy evidenced at application
Vehicle loan - new car | 90% | 7 years | Vehicle registered to the borrower
Vehicle loan - used car up to 5 years old | 75% | 5 years | Dealer invoice required"""
BTL = "What is the maximum loan-to-value for a buy-to-let mortgage?"


def test_a_passage_without_rows_is_no_table() -> None:
    assert parse_table("Branches open at 09:00.\nThey close at 17:30.") is None
    assert parse_table("Product | Rate\nOnly one row | 3%") is None
    table = parse_table("Rates below.\n" + LTV)
    assert table is not None
    assert table.header[1] == "Maximum LTV" and len(table.rows) == 6
    assert "Rates below." in table.outside and "Bridging" not in table.outside


def test_rows_are_named_by_their_label_not_by_stray_words() -> None:
    table = parse_table(LTV)
    assert table is not None
    assert table.named_rows("the buy-to-let mortgage") == [1]
    assert table.named_rows("a second home mortgage or a bridging loan") == [2, 3]
    # "up" is in the used-car label, but one word of seven names no row; figures name none.
    assert table.named_rows("Mortgages go up to 75%.") == []


def test_another_rows_figure_is_not_admissible() -> None:
    allowed = admissible_numbers(LTV, "The buy-to-let LTV is 75%.", BTL)
    assert "70" in allowed and "75" not in allowed
    # Naming no row, the sentence leans on the question's.
    assert "75" not in admissible_numbers(LTV, "It is 75%.", BTL)
    # Two rows named, both rows' figures count.
    both = admissible_numbers(LTV, "Buy-to-let 70%, second home mortgage 75%.", BTL)
    assert {"70", "75"} <= both
    # Nothing named anywhere: every figure of the passage counts, as before.
    assert "75" in admissible_numbers(LTV, "It is 75%.", "What is the highest LTV?")
    assert admissible_numbers("Open at 9, close at 17.", "x", "y") == {"9", "17"}


def test_a_wrong_row_figure_is_corrected_only_when_unambiguous() -> None:
    assert correct_row_figures("The buy-to-let LTV is 75%.", LTV, BTL) == (
        "The buy-to-let LTV is 70%."
    )
    assert correct_row_figures("A new car loan runs 25 years.", LTV, "Car loans?") == (
        "A new car loan runs 7 years."
    )
    # Right figure, nothing to correct; two rows named, no single cell to take.
    assert correct_row_figures("The buy-to-let LTV is 70%.", LTV, BTL) is None
    assert correct_row_figures("A bridging loan goes to 90%.", LTV, BTL) is None
    # The named row's figure beside the wrong one: a calculation, not a misread cell.
    assert correct_row_figures("For buy-to-let, 75% - 5% = 70%.", LTV, BTL) is None
    # A figure in no row at all is not a misread row: left to the ordinary check.
    assert correct_row_figures("The buy-to-let LTV is 72%.", LTV, BTL) is None


def answerer(index: DocumentIndex, embedder: FakeEmbedder, reply: str) -> Answerer:
    return Answerer(
        Searcher(Retriever(index, embedder, RetrievalConfig()), None), FakeGenerator([reply]),
        CitationBuilder(embedder.embed_passages, index.similarity),
        AnswerConfig(top_k=2, min_relevance=0.0),
    )


def test_answer_with_another_rows_figure_is_corrected_and_says_so(
    index: DocumentIndex, embedder: FakeEmbedder, item: MakeItem
) -> None:
    index.add([item("Credit policy", [LTV])])
    core = answerer(index, embedder, "The maximum LTV for a buy-to-let mortgage is 75% [1].")
    answer = core.ask(Query(BTL))
    assert not answer.refused
    assert answer.text == "The maximum LTV for a buy-to-let mortgage is 70%. [1]"
    check = answer.checks[0]
    assert check.verified and "75%" in check.reason and "corrected" in check.reason
    assert answer.citations and "70%" in answer.citations[0].quote


def test_uncorrectable_row_mismatch_is_not_verified(
    index: DocumentIndex, embedder: FakeEmbedder, item: MakeItem
) -> None:
    index.add([item("Credit policy", [LTV])])
    hits = index.store.chunks_by_rowids([1])
    sources = [Hit(hits[1], 1.0, None, None)]
    builder = CitationBuilder(embedder.embed_passages, index.similarity)
    # Two rows named (bridging, and buy-to-let by the question): no single cell to take.
    sentences = [Sentence("A bridging loan for a buy-to-let mortgage goes to 90%.", (1,))]
    checks = verify(sentences, builder.build(sentences, sources), sources, 0.0, BTL)
    assert not checks[0].verified and checks[0].reason == ROW_MISMATCH
    # Stating the bridging row's own figure passes.
    right = [Sentence("A bridging loan goes to 65%.", (1,))]
    assert verify(right, builder.build(right, sources), sources, 0.0, BTL)[0].verified
    reply = "A bridging loan for a buy-to-let mortgage goes to 90% [1]."
    answer = answerer(index, embedder, reply).ask(Query(BTL))
    assert answer.refused and answer.refusal_reason == "unverified"


def test_echoed_instructions_are_not_part_of_the_answer() -> None:
    # The echo goes, its marker stays with the sentence before.
    assert strip_echoed_instructions("Deux jours par semaine. Citez [1].") == (
        "Deux jours par semaine. [1]"
    )
    assert strip_echoed_instructions("Sous 2 jours. Sources: [1, 2].") == "Sous 2 jours. [1, 2]"
    reminder = "Deux jours [1]. Réponds en français, en citant les sources comme [1]."
    assert strip_echoed_instructions(reminder) == "Deux jours [1]. [1]"
    kept = "Yes, like the source says [1]. The fee is 5 EUR [1]."
    assert strip_echoed_instructions(kept) == kept
