"""Parsing real SEC filings (../shared/samples/pdf): pages, whole tables, no empty chunks."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from indexes.embedder import SentenceTransformerEmbedder, default_embedding_model_path
from ingest.chunking import Chunk, ChunkConfig, Chunker
from ingest.elements import ParsedDocument
from ingest.parsing import parse_file
from tests.integration.conftest import SHARED, require_shared

pytestmark = pytest.mark.integration

SAMPLES = SHARED / "samples" / "pdf"
COSTCO = SAMPLES / "COSTCO_2018_10K.pdf"
ADOBE = SAMPLES / "ADOBE_2022Q2_10Q.pdf"
JNJ = SAMPLES / "JOHNSON_JOHNSON_2023_8K_dated-2023-08-23.pdf"


@pytest.fixture(autouse=True)
def _samples_present() -> None:
    require_shared(SAMPLES)


@cache
def _parsed(path: Path) -> ParsedDocument:
    return parse_file(path)


@cache
def _chunks(path: Path) -> list[Chunk]:
    embedder = SentenceTransformerEmbedder(default_embedding_model_path())
    return Chunker(ChunkConfig(), embedder.count_tokens).chunk(_parsed(path).elements)


@pytest.mark.parametrize(("path", "pages"), [(JNJ, 3), (ADOBE, 56), (COSTCO, 74)])
def test_page_numbers_are_the_pdf_pages(path: Path, pages: int) -> None:
    parsed = _parsed(path)
    assert parsed.pages == pages
    seen = {e.page for e in parsed.elements}
    assert None not in seen
    assert min(seen) == 1 and max(seen) == pages  # type: ignore[type-var]


def test_text_lands_on_its_page() -> None:
    by_page: dict[int, str] = {}
    for element in _parsed(COSTCO).elements:
        by_page[element.page or 0] = by_page.get(element.page or 0, "") + "\n" + element.text
    assert "CONSOLIDATED BALANCE SHEETS" in by_page[36]
    assert "CONSOLIDATED BALANCE SHEETS" not in by_page[35]


def test_tables_are_found_and_kept_whole_with_their_header() -> None:
    tables = [e for e in _parsed(COSTCO).elements if e.kind == "table"]
    assert len(tables) >= 20
    members = next(t for t in tables if "Total paid members" in t.text)
    assert members.page == 5
    assert members.rows[0] == ["2018", "2017", "2016"]
    assert ["Total paid members", "51,600", "49,400", "47,600"] in members.rows
    balance = [t for t in tables if t.page == 36]
    assert balance and any("Total liabilities" in t.text for t in balance)


def test_table_chunks_start_with_the_header_and_never_split_a_row() -> None:
    embedder = SentenceTransformerEmbedder(default_embedding_model_path())
    chunker = Chunker(ChunkConfig(size=120, overlap=20), embedder.count_tokens)
    split_tables = 0
    for table in (e for e in _parsed(COSTCO).elements if e.kind == "table"):
        rendered = [" | ".join(row) for row in table.rows]
        header, body = rendered[: table.header_rows], rendered[table.header_rows :]
        pieces = chunker.chunk([table])
        split_tables += len(pieces) > 1
        rebuilt: list[str] = []
        for piece in pieces:
            lines = piece.text.split("\n")
            assert piece.kind == "table" and piece.page == table.page
            assert lines[: len(header)] == header
            rebuilt.extend(lines[len(header) :])
        assert rebuilt == body  # every row once, whole, in order
    assert split_tables >= 3  # long tables really were cut, between rows


@pytest.mark.parametrize("path", [JNJ, ADOBE, COSTCO])
def test_no_empty_chunks_and_pages_set(path: Path) -> None:
    chunks = _chunks(path)
    assert chunks
    assert all(c.text.strip() for c in chunks)
    assert all(c.page is not None and c.page_end is not None and c.page <= c.page_end
               for c in chunks)


def test_truncated_pdf_is_a_failure(tmp_path: Path) -> None:
    from ingest.elements import ParseError

    truncated = tmp_path / "truncated.pdf"
    truncated.write_bytes(JNJ.read_bytes()[:4000])
    with pytest.raises(ParseError) as error:
        parse_file(truncated)
    assert "truncated.pdf" in str(error.value)
