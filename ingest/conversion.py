"""unstructured's elements turned into Coffre's: headers, footers and images dropped.

The elements are duck-typed (category, text, metadata), so this module needs no import of
`unstructured` itself; `ingest/parsing.py` stays the only one.
"""

from __future__ import annotations

from typing import Any

from ingest.elements import Element
from ingest.headings import heading_depth, is_numbered_heading, looks_like_heading
from ingest.titles import TITLE_LIMIT

_SKIPPED_CATEGORIES = {"Header", "Footer", "PageNumber", "PageBreak", "Image"}
_MAX_TITLE_WORDS = 20


def table_rows(html: str) -> list[list[str]]:
    """The non-empty rows of an HTML table, as cell texts with spaces collapsed."""
    from lxml import html as lxml_html

    root = lxml_html.fromstring(html)
    rows = []
    for tr in root.iter("tr"):
        cells = [" ".join(td.text_content().split()) for td in tr if td.tag in ("td", "th")]
        if any(cells):
            rows.append(cells)
    return rows


def _is_title(category: str, text: str) -> bool:
    """A title that reads as one: a long one (an unbroken word included) is a paragraph."""
    return category == "Title" and len(text.split()) <= _MAX_TITLE_WORDS and (
        len(text) <= TITLE_LIMIT)


def convert(raw: list[Any], strict_titles: bool = False) -> list[Element]:
    """unstructured elements -> Coffre elements; headers, footers and images dropped.

    With `strict_titles` (PDFs), only heading-like titles are kept as titles, and their
    depth comes from their numbering since the PDF gives none.
    """
    out: list[Element] = []
    for item in raw:
        category = item.category
        text = (item.text or "").strip()
        page = getattr(item.metadata, "page_number", None)
        if category in _SKIPPED_CATEGORIES or not text:
            continue
        if strict_titles and is_numbered_heading(text):
            category = "Title"
        if category == "Table":
            html = getattr(item.metadata, "text_as_html", None)
            rows = table_rows(html) if html else [[text]]
            out.append(Element("table", text, page, rows=rows, header_rows=1 if rows else 0))
        elif _is_title(category, text) and (not strict_titles or looks_like_heading(text)):
            depth = getattr(item.metadata, "category_depth", None)
            if strict_titles:
                depth = heading_depth(text)
            out.append(Element("title", text, page, depth=depth))
        elif category == "ListItem":
            out.append(Element("list", text, page))
        else:
            out.append(Element("text", text, page))
    return out
