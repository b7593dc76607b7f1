"""Times, dates, amounts and percentages are verified whole, in the passage a sentence cites.

Each test pairs a right sentence with a wrong one that the digit-by-digit check let through
(its digits all occur in the passage, but not as that value).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from indexes.library import DocumentIndex
from rag.citations import CitationBuilder, Sentence
from rag.quantities import holding, number_value, quantities
from rag.retrieval import Hit
from rag.verification import verify
from tests.unit.fakes import FakeEmbedder, MakeItem

Verified = Callable[..., bool]


@pytest.fixture
def verified(index: DocumentIndex, item: MakeItem, embedder: FakeEmbedder) -> Verified:
    """Whether `sentence`, citing every passage given, is verified by them (any support)."""
    builder = CitationBuilder(embedder.embed_passages, index.similarity, min_support=0.0)
    rows: list[int] = []

    def check(sentence: str, *passages: str) -> bool:
        index.add([item(f"doc{len(rows) + n}", [text]) for n, text in enumerate(passages)])
        added = list(range(len(rows) + 1, len(rows) + 1 + len(passages)))
        rows.extend(added)
        stored = index.store.chunks_by_rowids(added)
        hits = [Hit(stored[rowid], 1.0, None, None) for rowid in added]
        sentences = [Sentence(sentence, tuple(range(1, len(hits) + 1)))]
        return verify(sentences, builder.build(sentences, hits), hits, 0.0)[0].verified

    return check


def test_a_time_range_is_checked_whole_against_the_passages_it_cites(verified: Verified) -> None:
    desk = "The treasury desk takes orders from 11:30 to 14:00."
    other = "Statements cover the last 12 months."
    assert verified("The desk takes orders from 11:30 to 14:00.", desk, other)
    # 12 is in the other passage and 30 in this one, but 12:30 is in neither.
    assert not verified("The desk takes orders from 12:30 to 14:00.", desk, other)


def test_a_french_time_is_the_same_time(verified: Verified) -> None:
    counter = "The counter opens at 14:30 and closes at 15:45."
    assert verified("Le guichet ouvre à 14h30.", counter)
    assert verified("It opens at 2:30 pm.", counter)
    assert not verified("Le guichet ouvre à 14h45.", counter)


def test_the_same_date_written_another_way_matches(verified: Verified) -> None:
    policy = "Version 3 of the policy is in force since 2026-03-01; it was drafted in 2025."
    assert verified("The policy is in force since 1 March 2026.", policy)
    assert verified("It applies from 1er mars 2026.", policy)
    assert verified("It has applied since March 2026.", policy)
    assert not verified("The policy is in force since 3 January 2026.", policy)
    assert not verified("The policy is in force since 1 March 2025.", policy)


def test_a_percentage_is_its_whole_value(verified: Verified) -> None:
    rate = "The savings rate is 5.5 % for balances above 5 000 euros, paid within 5 days."
    assert verified("The savings rate is 5.5%.", rate)
    assert not verified("The savings rate is 5%.", rate)


def test_an_amount_is_its_value_with_its_scale_and_currency(verified: Verified) -> None:
    limit = "Officers approve up to EUR 2,000,000 with 2 signatures."
    assert verified("Officers approve up to EUR 2 million.", limit)
    assert verified("Officers approve up to €2m.", limit)
    assert not verified("Officers approve up to EUR 2 billion.", limit)
    assert not verified("Officers approve up to USD 2,000,000.", limit)


def test_amounts_in_french_and_american_formats(verified: Verified) -> None:
    box = "A safe deposit box costs 1 500 € per year; the insurance covers $2,000."
    assert verified("The box costs EUR 1,500 a year.", box)
    assert verified("The insurance covers 2000 dollars.", box)
    assert not verified("The box costs $1,500 a year.", box)
    ceiling = "Le plafond est de 1 234,5 euros."
    assert verified("The ceiling is 1234.5 euros.", ceiling)


def test_a_bare_figure_holds_an_amount_or_a_percentage_only_where_the_unit_is_stated_apart(
    verified: Verified,
) -> None:
    table = "Fee (EUR) | Rate (%)\nCard | 25 | 3.5\nLoan | 40 | 4.5"
    assert verified("The card fee is EUR 25 at 3.5%.", table)
    # No currency stated apart: 25 alone does not say euros.
    assert not verified("The card fee is EUR 25.", "The card fee is 25 per month, GBP 3 to print.")


def test_values_are_read_whole() -> None:
    assert {q.kind for q in quantities("From 12:30 to 14h00 on 1 March 2026.")} == {"time",
                                                                                  "date"}
    [amount] = quantities("EUR 1.5 million")
    assert amount.needs == {"$EUR:1500000"}
    assert number_value("1 234,5") == number_value("1234.5") == number_value("1.234,5")
    assert number_value("1,000") == 1000 and number_value("4,5") == number_value("4.50")
    # A list marker is not a value; "5 may apply" is no date.
    assert [q.kind for q in quantities("1. Fees of 5 may apply")] == ["number"]
    assert "n:12" not in holding("Open 12:30 to 14:00.").keys
