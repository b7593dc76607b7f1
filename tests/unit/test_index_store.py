"""The store's parts on their own: schema and rows, write statements, keyword queries."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from indexes.filters import SearchFilter
from indexes.keyword_queries import bm25_search, candidates_within, match_expression
from indexes.library import DocumentIndex
from indexes.schema import CHUNK_COLUMNS, CHUNK_WIDTH, SCHEMA
from indexes.store import SCHEMA_VERSION, Store
from indexes.store_writes import bump_generation
from tests.unit.fakes import MakeItem

NO_FILTER = SearchFilter()


# The documents table as schema 1 had it, before versions and sidecar metadata.
SCHEMA_1_DOCUMENTS = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE documents (doc_id TEXT PRIMARY KEY, source_path TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL, content_hash TEXT NOT NULL, mime TEXT NOT NULL,
    language TEXT NOT NULL, pages INTEGER, ingested_at TEXT NOT NULL,
    version INTEGER NOT NULL, groups TEXT NOT NULL DEFAULT '[]');
INSERT INTO meta VALUES ('schema', '1'), ('generation', '3');
INSERT INTO documents VALUES ('d1', '/p/memo.txt', 'Memo', 'h', 'text/plain', 'en', NULL,
    '2026-01-01T00:00:00+00:00', 3, '["ops"]');
"""


def test_a_schema_1_store_is_upgraded_in_place_without_losing_a_document(
    tmp_path: Path
) -> None:
    path = tmp_path / "store.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(SCHEMA_1_DOCUMENTS)
    old.close()
    store = Store(path)
    assert store.get_meta("schema") == SCHEMA_VERSION == "2"
    document = store.document("d1")
    assert document is not None and (document.title, document.version, document.groups,
                                      document.expiry_date) == ("Memo", 3, ("ops",), None)
    assert [(v.version, v.current) for v in store.versions("d1")] == [(3, True)]
    assert store.generation() == 3
    store.close()
    Store(path).close()  # a second open finds it upgraded and changes nothing


@pytest.fixture
def db() -> sqlite3.Connection:
    connection = sqlite3.connect(":memory:", isolation_level=None)
    connection.executescript(SCHEMA)
    return connection


def test_schema_version_is_recorded_and_reopening_keeps_the_data(
    tmp_path: Path, item: MakeItem
) -> None:
    store = Store(tmp_path / "store.sqlite3")
    doc = item("memo", ["branch memo"], groups=("ops", "hr"))
    store.replace_document(doc.document, doc.chunks, doc.vectors)
    store.close()
    again = Store(tmp_path / "store.sqlite3")
    assert again.get_meta("schema") == SCHEMA_VERSION
    assert again.generation() == 1
    stored = again.document(doc.document.doc_id)
    assert stored is not None
    assert stored == replace(doc.document, chunk_count=1)
    (chunk,) = again.chunks_by_rowids([int(r) for r in again.allowed_rowids(NO_FILTER)]).values()
    assert chunk.chunk.text == "branch memo" and chunk.document == stored
    again.close()


def test_chunk_columns_are_as_wide_as_declared() -> None:
    # Joined rows are split at CHUNK_WIDTH into the chunk's and the document's columns.
    assert len(CHUNK_COLUMNS.split(",")) == CHUNK_WIDTH


def test_bump_generation_counts_from_zero_without_a_row(db: sqlite3.Connection) -> None:
    assert bump_generation(db) == (0, 1)
    assert bump_generation(db) == (1, 2)
    assert db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone() == ("2",)


def test_set_groups_and_meta_do_not_bump_the_generation(
    index: DocumentIndex, item: MakeItem
) -> None:
    doc = item("memo", ["memo"])
    index.add([doc])
    index.store.set_groups(doc.document.doc_id, ["b", "a", "a"])
    index.store.set_meta("note", "x")
    assert index.store.generation() == 1
    stored = index.store.document(doc.document.doc_id)
    assert stored is not None and stored.groups == ("a", "b")


def test_vector_snapshot_matches_the_stored_embeddings(
    index: DocumentIndex, item: MakeItem
) -> None:
    assert index.store.vector_snapshot()[0] == 0
    assert index.store.vector_snapshot()[1].shape == (0,)
    index.add([item("a", ["one text", "two text"]), item("b", ["three text"])])
    generation, rowids, vectors = index.store.vector_snapshot()
    expected_rowids, expected_vectors = index.store.embeddings()
    assert generation == index.store.generation() == 2
    assert rowids.tolist() == expected_rowids.tolist() == sorted(rowids.tolist())
    assert np.array_equal(vectors, expected_vectors) and vectors.shape == (3, 64)


def test_match_expression_quotes_every_term() -> None:
    assert match_expression(["loan", 'say "hi"']) == '"loan" OR "say ""hi"""'


@pytest.mark.parametrize("term", ["OR", "NEAR(", "a*", '"', "col:x", "-"])
def test_fts_syntax_in_a_term_is_only_a_word(
    index: DocumentIndex, item: MakeItem, term: str
) -> None:
    index.add([item("a", ["loan terms"])])
    assert index.store.keyword_search([term], 5, NO_FILTER) == []
    assert len(index.store.keyword_search([term, "loan"], 5, NO_FILTER)) == 1


def test_keyword_queries_without_terms_or_room_return_nothing(db: sqlite3.Connection) -> None:
    assert bm25_search(db, [], 5, NO_FILTER) == []
    assert bm25_search(db, ["", ""], 5, NO_FILTER) == []
    assert bm25_search(db, ["loan"], 0, NO_FILTER) == []
    assert candidates_within(db, [""], SearchFilter(groups=frozenset({"a"}))) == ([], 0, 0.0)


def test_candidates_within_counts_only_the_allowed_chunks(
    index: DocumentIndex, item: MakeItem
) -> None:
    index.add([
        item("open", ["loan fee waived"], groups=("staff",)),
        item("other", ["branch hours"], groups=("staff",)),
        item("secret", ["loan loan loan secret"], groups=("board",)),
    ])
    staff = SearchFilter(groups=frozenset({"staff"}))
    candidates, total, mean = index.store.keyword_candidates(["loan"], staff)
    assert [terms.split()[-2:] for _, terms in candidates] == [["fee", "waiv"]]
    assert total == 2
    # "open\n\nloan fee waived" and "other\n\nbranch hours": title words count too.
    assert mean == pytest.approx((4 + 3) / 2)
