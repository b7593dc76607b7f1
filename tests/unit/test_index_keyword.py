"""Keyword search: BM25 over FTS5 terms, both languages, scored within the caller's filter."""

from __future__ import annotations

from pathlib import Path

from indexes.filters import SearchFilter
from indexes.library import DocumentIndex
from tests.unit.fakes import FakeEmbedder, MakeItem, make_item
from tests.unit.index_kit import NO_FILTER, doc_rowids, rowids


def test_bare_french_keyword_query_finds_french_documents(
    index: DocumentIndex, item: MakeItem
) -> None:
    sentence = "Le client dépose sa réclamation auprès de son agence."
    claim = item("claims", [sentence], language="fr", title="Procédure")
    index.add([claim, item("wires", ["Les virements sont exécutés le jour même."],
                           language="fr", title="Virements SEPA")])
    # A full French question works: its function words make it French.
    assert len(index.keyword_search("Comment déposer une réclamation ?", 5, NO_FILTER)) == 1
    assert rowids(index.keyword_search("réclamations", 5, NO_FILTER)) == sorted(
        doc_rowids(index, claim.document.doc_id)
    )


def test_filtered_keyword_scores_ignore_documents_the_caller_cannot_see(
    tmp_path: Path, embedder: FakeEmbedder
) -> None:
    """A restricted caller gets exactly the scores of an index holding only what they see."""
    visible = [("a", ["loan fee waived for students", "card fee monthly"]),
               ("b", ["loan limit for students raised", "branch hours"])]
    hidden = [("h", ["loan fee loan fee merger secret students", "fee fee fee"])]
    full = DocumentIndex(tmp_path / "full", embedder)
    full.add([make_item(embedder, n, t, groups=("staff",)) for n, t in visible]
             + [make_item(embedder, n, t, groups=("board",)) for n, t in hidden])
    alone = DocumentIndex(tmp_path / "alone", embedder)
    alone.add([make_item(embedder, n, t, groups=("staff",)) for n, t in visible])

    def scored(index: DocumentIndex, flt: SearchFilter) -> list[tuple[str, float]]:
        results = index.keyword_search("loan fee students", 10, flt)
        chunks = index.store.chunks_by_rowids([r for r, _ in results])
        return [(chunks[r].chunk.text, round(s, 9)) for r, s in results]

    staff = SearchFilter(groups=frozenset({"staff"}))
    assert scored(full, staff) == scored(alone, staff)
    # And the filtered formula is FTS5's own: unfiltered FTS5 scores on the small index match.
    assert [(t, round(s, 6)) for t, s in scored(alone, staff)] == [
        (t, round(s, 6)) for t, s in scored(alone, SearchFilter())]
