"""Write the demo corpus Word documents from their TOML sources."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import docx
from corpus_common import FIXED_NAIVE, block_kind, load_source, normalize_ooxml, prose
from docx.document import Document as DocxDocument
from docx.shared import Pt


def _set_core(document: DocxDocument, meta: Mapping[str, str]) -> None:
    """Fill the core properties (title, author, language) with fixed dates."""
    props = document.core_properties
    props.title = meta["title"]
    props.author = meta["author"]
    props.last_modified_by = meta["author"]
    props.language = meta["lang"]
    props.created = FIXED_NAIVE
    props.modified = FIXED_NAIVE
    props.last_printed = FIXED_NAIVE
    props.revision = 1
    props.comments = ""


def _add_table(document: DocxDocument, rows: Sequence[Sequence[str]]) -> None:
    """Add a grid table with a bold first row, then an empty paragraph after it."""
    table = document.add_table(rows=0, cols=len(rows[0]))
    table.style = "Table Grid"
    for index, row in enumerate(rows):
        cells = table.add_row().cells
        for cell, value in zip(cells, row, strict=True):
            cell.text = value
            if index == 0:
                for run in cell.paragraphs[0].runs:
                    run.bold = True
    document.add_paragraph()


def _add_bullets(document: DocxDocument, items: Sequence[str]) -> None:
    """Add one "List Bullet" paragraph per item."""
    for item in items:
        document.add_paragraph(item, style="List Bullet")


_BLOCKS: dict[str, Callable[[DocxDocument, Any], object]] = {
    "title": lambda document, text: document.add_heading(text, level=0),
    "h1": lambda document, text: document.add_heading(text, level=1),
    "h2": lambda document, text: document.add_heading(text, level=2),
    "p": lambda document, text: document.add_paragraph(prose(text)),
    "bullets": _add_bullets,
    "table": _add_table,
}


def write_docx(source_path: Path, out_path: Path) -> None:
    """Write a Word document: 11 pt body text, then the source's blocks in order."""
    source = load_source(source_path)
    document = docx.Document()
    document.styles["Normal"].font.size = Pt(11)
    for block in source["block"]:
        kind, value = block_kind(block)
        if kind not in _BLOCKS:
            raise ValueError(f"unknown Word block kind {kind!r} in {source_path.name}")
        _BLOCKS[kind](document, value)
    _set_core(document, source["metadata"])
    document.save(str(out_path))
    normalize_ooxml(out_path)
