"""Text formats written at ingestion and read back at answer time.

A table passage holds one row a line, its cells joined by CELL_SEPARATOR, the header row
first. The chunker and the PDF table reader write it; the row figure check in `rag/tables.py`
reads it. Both sides use this module, so the format has one definition.
"""

from __future__ import annotations

from collections.abc import Iterable

CELL_SEPARATOR = " | "


def format_row(cells: Iterable[str]) -> str:
    """One table row as a passage line: its cells joined by CELL_SEPARATOR."""
    return CELL_SEPARATOR.join(cells)


def is_row(line: str) -> bool:
    """Whether a passage line is a table row (holds at least one cell separator)."""
    return CELL_SEPARATOR in line


def split_row(line: str) -> list[str]:
    """The cells of a passage line written by `format_row`, each stripped of spaces."""
    return [cell.strip() for cell in line.split(CELL_SEPARATOR)]


def embedded_text(title: str, section: str, text: str) -> str:
    """What is embedded for a chunk: its document's title and its section (unless the text
    starts with them), then its text. Ingestion embeds it, and so does a reindex, which must
    give the vectors a fresh ingestion would."""
    context = [part for part in (title, section) if part and not text.startswith(part)]
    return "\n".join([*context, text])
