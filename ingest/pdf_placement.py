"""The tables pdfplumber found, put back among unstructured's PDF elements in reading order.

unstructured's offline PDF strategy reads a table as loose lines of text; each table region
found by `ingest/pdf_tables.py` replaces the lines inside it.
"""

from __future__ import annotations

from typing import Any

from indexes.formats import format_row
from ingest.conversion import convert
from ingest.elements import Element
from ingest.headings import join_split_headings
from ingest.pdf_tables import PdfTable


def _inside(item: Any, table: PdfTable) -> bool:
    coordinates = getattr(item.metadata, "coordinates", None)
    if coordinates is None or item.metadata.page_number != table.page:
        return False
    xs = [p[0] for p in coordinates.points]
    ys = [p[1] for p in coordinates.points]
    cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    x0, top, x1, bottom = table.bbox
    return x0 <= cx <= x1 and top <= cy <= bottom


def _top(item: Any) -> float:
    coordinates = getattr(item.metadata, "coordinates", None)
    return min(p[1] for p in coordinates.points) if coordinates is not None else 0.0


def place_tables(raw: list[Any], tables: list[PdfTable]) -> list[Element]:
    """Replace the loose text inside each table region by the table, in reading order."""
    raw = join_split_headings(raw)
    by_page: dict[int, list[PdfTable]] = {}
    for table in tables:
        by_page.setdefault(table.page, []).append(table)
    out: list[Element] = []
    for item in raw:
        page_tables = by_page.get(item.metadata.page_number or 0, [])
        while page_tables and page_tables[0].bbox[1] <= _top(item):
            out.append(table_element(page_tables.pop(0)))
        if not any(_inside(item, t) for t in tables if t.page == item.metadata.page_number):
            out.extend(convert([item], strict_titles=True))
    for remaining in by_page.values():
        out.extend(table_element(t) for t in remaining)
    out.sort(key=lambda e: e.page or 0)  # stable: keeps reading order within a page
    return out


def table_element(table: PdfTable) -> Element:
    """A found table as an element: its text is one `format_row` line per row."""
    text = "\n".join(format_row(row) for row in table.rows)
    return Element("table", text, table.page, rows=table.rows, header_rows=table.header_rows)
