"""The table-row format shared by ingestion (writing) and the row figure check (reading)."""

from __future__ import annotations

from indexes.formats import CELL_SEPARATOR, format_row, is_row, split_row
from ingest.chunking import ChunkConfig, Chunker
from ingest.elements import Element
from rag.tables import parse_table


def test_a_row_round_trips() -> None:
    cells = ["Buy-to-let mortgage", "70%", "25 years"]
    line = format_row(cells)
    assert line == "Buy-to-let mortgage | 70% | 25 years"
    assert is_row(line) and not is_row("Rates are fixed.")
    assert split_row(line) == cells
    assert split_row("  a |  b  | c ") == ["a", "b", "c"]
    assert CELL_SEPARATOR in line


def test_what_the_chunker_writes_the_table_reader_reads() -> None:
    rows = [["Product", "Rate"], ["Loan", "5%"], ["Card", "19%"]]
    chunker = Chunker(ChunkConfig(size=50, overlap=0), lambda t: len(t.split()))
    (chunk,) = chunker.chunk([Element("table", "", 1, rows=rows, header_rows=1)])
    table = parse_table(chunk.text)
    assert table is not None
    assert [list(table.header), *map(list, table.rows)] == rows
