"""Keyword queries over the store's FTS5 terms, restricted by a filter before truncation."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from indexes.filters import SearchFilter


def match_expression(terms: Sequence[str]) -> str:
    """An FTS5 query matching any of the terms, each quoted so no term acts as syntax."""
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)


def _unique(terms: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(t for t in terms if t))


def bm25_search(
    db: sqlite3.Connection, terms: Sequence[str], k: int, search_filter: SearchFilter
) -> list[tuple[int, float]]:
    """FTS5's BM25 over the chunk terms, filtered before truncation; (rowid, score), best
    first."""
    unique = _unique(terms)
    if not unique or k <= 0:
        return []
    sql = "SELECT rowid, -bm25(chunk_terms) AS score FROM chunk_terms WHERE chunk_terms MATCH ?"
    params: list[object] = [match_expression(unique)]
    if not search_filter.is_empty:
        clause, filter_params = search_filter.document_clause("d")
        sql += (
            " AND rowid IN (SELECT c.rowid FROM chunks c JOIN documents d "
            f"ON d.doc_id = c.doc_id WHERE {clause})"
        )
        params.extend(filter_params)
    sql += " ORDER BY score DESC LIMIT ?"
    params.append(k)
    rows = db.execute(sql, params).fetchall()
    return [(int(r[0]), float(r[1])) for r in rows]


def candidates_within(
    db: sqlite3.Connection, terms: Sequence[str], search_filter: SearchFilter
) -> tuple[list[tuple[int, str]], int, float]:
    """Allowed chunks holding any of `terms` with their terms, and the allowed set's size
    and mean length: what BM25 needs to score within the filter alone."""
    unique = _unique(terms)
    if not unique:
        return [], 0, 0.0
    clause, params = search_filter.document_clause("d")
    allowed = (
        f"SELECT c.rowid FROM chunks c JOIN documents d ON d.doc_id = c.doc_id WHERE {clause}"
    )
    rows = db.execute(
        f"SELECT rowid, terms FROM chunk_terms WHERE chunk_terms MATCH ? "
        f"AND rowid IN ({allowed})", [match_expression(unique), *params]
    ).fetchall()
    count, mean = db.execute(
        "SELECT count(*), avg(length(terms) - length(replace(terms, ' ', '')) + 1) "
        f"FROM chunk_terms WHERE rowid IN ({allowed})", params
    ).fetchone()
    return [(int(r[0]), str(r[1])) for r in rows], int(count), float(mean or 0.0)
