"""A question naming a document's subject (a company) ranks that document's passages first."""

from __future__ import annotations

import pytest

from indexes.filters import SearchFilter
from indexes.library import DocumentIndex
from rag.retrieval import Hit, RetrievalConfig, Retriever
from rag.subjects import name_phrases, named_documents, names_index
from tests.unit.fakes import FakeEmbedder, MakeItem

# Three filings that read alike; the other two mention revenue more often than Costco's.
FILINGS = {
    "COSTCO_2018_10K": "Net sales increased 10% to $138,434 in fiscal 2018.",
    "ADOBE_2022Q2_10Q": "Total revenue net sales revenue increased 14% to $4,386 in the quarter.",
    "JOHNSON_JOHNSON_2023_8K": "Worldwide net sales revenue revenue increased 6% in the quarter.",
}

PARTS = ["Item 1. Business overview.", "Item 1A. Risk factors."]


@pytest.fixture
def filings(index: DocumentIndex, item: MakeItem) -> DocumentIndex:
    index.add([item(name, [text, *PARTS], path=f"/filings/{name}.pdf",
                    title="Form 10-K annual report")
               for name, text in FILINGS.items()])
    return index


def _titles(hits: list[Hit]) -> list[str]:
    return [h.stored.document.source_path.rsplit("/", 1)[-1] for h in hits]


def test_a_question_naming_a_company_ranks_its_filing_first(
    filings: DocumentIndex, embedder: FakeEmbedder
) -> None:
    question = "What was Costco's net sales revenue increase?"
    plain = Retriever(filings, embedder, RetrievalConfig()).search(question, 3)  # the default
    assert _titles(plain)[0] != "COSTCO_2018_10K.pdf"  # without the preference it loses
    hits = Retriever(filings, embedder, RetrievalConfig(prefer_named=True)).search(question, 9)
    assert _titles(hits)[:3] == ["COSTCO_2018_10K.pdf"] * 3
    assert sorted(_titles(hits)[3:]) == ["ADOBE_2022Q2_10Q.pdf"] * 3 + [
        "JOHNSON_JOHNSON_2023_8K.pdf"] * 3  # the others stay, ranked after
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_the_preference_keeps_to_the_callers_filter(
    filings: DocumentIndex, embedder: FakeEmbedder
) -> None:
    others = frozenset(d.doc_id for d in filings.store.documents()
                       if "COSTCO" not in d.source_path)
    hits = Retriever(filings, embedder, RetrievalConfig(prefer_named=True)).search(
        "Costco net sales revenue", 3, SearchFilter(doc_ids=others))
    assert "COSTCO_2018_10K.pdf" not in _titles(hits)


def test_only_capitalised_words_few_names_share_name_a_document(
    filings: DocumentIndex,
) -> None:
    index = names_index(filings.store.documents())
    # Shared by every title: names nothing. Lower case: never a name.
    assert "annual" not in index and "form" not in index
    assert named_documents("what were costco net sales", index) == frozenset()
    assert len(named_documents("Adobe and Johnson & Johnson revenue", index)) == 2
    assert len(named_documents("Did Adobe Inc. report more than Johnson & Johnson?", index)) == 2
    # A name is every capitalised word of the run: "New York" names nothing titled "New ...".
    assert named_documents("What did Costco Bank report?", index) == frozenset()
    assert name_phrases("Is Société Générale's CET1 ratio above New York's?") == [
        (True, ["is", "societe", "generale"]), (False, ["cet1"]), (False, ["new", "york"])]

