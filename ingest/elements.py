"""What parsing produces: a document as a list of typed elements with page numbers."""

from __future__ import annotations

from dataclasses import dataclass, field

from ingest.errors import ParseError, UnsupportedFileError  # noqa: F401  (re-exported)


@dataclass
class Element:
    """A block of a document: a heading, a paragraph, a list item or a table."""

    kind: str  # "title", "text", "list" or "table"
    text: str
    page: int | None = None
    depth: int | None = None  # heading level, 0 = top, for titles that know it
    rows: list[list[str]] = field(default_factory=list)  # tables: cell texts, row by row
    header_rows: int = 0  # tables: how many leading rows form the header


@dataclass
class ParsedDocument:
    """A parsed source: its title, elements in reading order, and page count if paged."""

    title: str
    elements: list[Element]
    mime: str
    pages: int | None = None
