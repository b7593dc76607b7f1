"""What the document-index tests share: the empty filter and row-id helpers."""

from __future__ import annotations

from indexes.filters import SearchFilter
from indexes.library import DocumentIndex

NO_FILTER = SearchFilter()


def rowids(results: list[tuple[int, float]]) -> list[int]:
    """The row ids of a search's (rowid, score) results, in rank order."""
    return [r for r, _ in results]


def doc_rowids(index: DocumentIndex, doc_id: str) -> set[int]:
    """The row ids of one document's chunks."""
    return set(rowids_of(index, SearchFilter(doc_ids=frozenset({doc_id}))))


def rowids_of(index: DocumentIndex, flt: SearchFilter) -> list[int]:
    """The row ids a filter allows."""
    return [int(r) for r in index.store.allowed_rowids(flt)]
