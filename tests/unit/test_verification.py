"""Sentence verification: support threshold and numbers that must appear in the source."""

from __future__ import annotations

import pytest

from indexes.library import DocumentIndex
from rag.citations import CitationBuilder, Sentence
from rag.pointers import states_nothing
from rag.retrieval import Hit
from rag.verification import STATES_NOTHING, numbers, verify
from tests.unit.fakes import FakeEmbedder, MakeItem

POLICY = "The maximum loan-to-value for a buy-to-let mortgage is 70% of the property value."
HOURS = "Branches open at 09:00 and close at 17:30 from Monday to Friday."


@pytest.fixture
def hits(index: DocumentIndex, item: MakeItem) -> list[Hit]:
    index.add([item("policy", [POLICY]), item("hours", [HOURS])])
    stored = index.store.chunks_by_rowids([1, 2])
    return [Hit(stored[1], 1.0, None, None), Hit(stored[2], 0.5, None, None)]


@pytest.fixture
def builder(index: DocumentIndex, embedder: FakeEmbedder) -> CitationBuilder:
    return CitationBuilder(embedder.embed_passages, index.similarity, min_support=0.2)


def test_numbers_are_normalised() -> None:
    assert numbers("EUR 1,000 or 4.50 or 4,5 and 07") == {"1000", "4.5", "7"}
    assert numbers("1. First step takes 3 days") == {"3"}


def test_spelled_out_numbers_in_passages_count() -> None:
    from rag.verification import passage_numbers

    assert {"6", "2"} <= passage_numbers("valid for six months, renewed within deux jours")


def test_faithful_sentence_is_verified(builder: CitationBuilder, hits: list[Hit]) -> None:
    sentences = [Sentence("The maximum loan-to-value for buy-to-let is 70%.", (1,))]
    checks = verify(sentences, builder.build(sentences, hits), hits, 0.3)
    assert checks[0].verified and checks[0].reason == "supported" and checks[0].sources == (1,)


def test_a_changed_figure_is_not_verified(builder: CitationBuilder, hits: list[Hit]) -> None:
    sentences = [Sentence("The maximum loan-to-value for buy-to-let is 10%.", (1,))]
    checks = verify(sentences, builder.build(sentences, hits), hits, 0.3)
    assert not checks[0].verified
    assert "numbers" in checks[0].reason


def test_unrelated_sentence_is_below_the_threshold(
    builder: CitationBuilder, hits: list[Hit]
) -> None:
    sentences = [Sentence("Penguins migrate across the frozen southern ocean.", (2,))]
    checks = verify(sentences, builder.build(sentences, hits), hits, 0.3)
    assert not checks[0].verified and "below" in checks[0].reason


def test_a_sentence_may_take_its_figures_from_two_cited_passages(
    builder: CitationBuilder, hits: list[Hit]
) -> None:
    joined = [Sentence("Buy-to-let is capped at 70% and branches close at 17:30.", (1, 2))]
    assert verify(joined, builder.build(joined, hits), hits, 0.0)[0].verified
    alone = [Sentence("Buy-to-let is capped at 70% and branches close at 17:30.", (1,))]
    assert not verify(alone, builder.build(alone, hits), hits, 0.0)[0].verified


def test_supporting_sources_prefers_one_passage_then_a_pair(hits: list[Hit]) -> None:
    from rag.verification import supporting_sources

    assert supporting_sources("It is 70%.", [0.9, 0.8], hits, 0.5) == (1,)
    assert supporting_sources("Close at 17:30.", [0.9, 0.8], hits, 0.5) == (2,)
    assert supporting_sources("70% and 17:30.", [0.9, 0.8], hits, 0.5) == (1, 2)
    # Below the threshold a passage cannot verify, whatever numbers it holds.
    assert supporting_sources("Close at 17:30.", [0.9, 0.1], hits, 0.5) == ()
    assert supporting_sources("It is 99%.", [0.9, 0.8], hits, 0.5) == ()


def test_the_reason_names_the_value_no_cited_passage_holds(
    builder: CitationBuilder, hits: list[Hit]
) -> None:
    # 17 and 30 are both in the hours passage, 17:00 is not.
    sentences = [Sentence("Branches close at 17:00 from Monday to Friday.", (2,))]
    [check] = verify(sentences, builder.build(sentences, hits), hits, 0.3)
    assert not check.verified
    assert check.reason == "states numbers its sources do not contain: 17:00"


@pytest.mark.parametrize("text", [
    "This can be found in the table provided in source.",
    "Please see the passage above for more information.",
    "Les détails figurent dans le tableau ci-dessous.",
    "",
])
def test_a_sentence_that_only_points_to_a_source_states_nothing(text: str) -> None:
    assert states_nothing(text)


@pytest.mark.parametrize("text", [
    "The table provided in source gives a fee of five euros.",  # a subject and a value
    "See section 4.",  # a value
    "Cards are renewed every three years.",
    "Le tableau fixe les frais.",
])
def test_a_sentence_with_a_subject_or_a_value_states_something(text: str) -> None:
    assert not states_nothing(text)


CUTOFF_TITLE = ("Change to wire transfer cut-off times from 7 April 2025",)


@pytest.mark.parametrize(("text", "points"), [
    # Refers to its source and otherwise only repeats the source's title: names, not claims.
    ("This is according to the change in cut-off times from April 7, 2025, as stated in "
     "source.", True),
    ("As stated in the change to wire transfer cut-off times.", True),
    # No word that refers to a source: the title's words are the claim (the date asked for).
    ("The new cut-off times apply from 7 April 2025.", False),
    ("The cut-off times change from 7 April 2025.", False),
    # A number that the title does not hold is a claim, referring words or not.
    ("According to the change in cut-off times, SEPA closes at 15:30.", False),
])
def test_a_sentence_that_names_its_source_by_its_title_states_nothing(
    text: str, points: bool
) -> None:
    assert states_nothing(text, CUTOFF_TITLE) is points


def test_a_pointer_sentence_is_never_verified(builder: CitationBuilder, hits: list[Hit]) -> None:
    sentences = [Sentence("This can be found in the table provided in source.", (1,))]
    checks = verify(sentences, builder.build(sentences, hits), hits, 0.0)
    assert not checks[0].verified and checks[0].reason == STATES_NOTHING
