"""Write the demo corpus PDF (the retail credit policy) from its TOML source.

The source lists the pages explicitly; ``write_pdf`` renders each page's blocks and stops if
the content of a page spills onto the next one, because ``gold_page`` in
``bench/demo/questions.jsonl`` depends on the page numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from corpus_common import FIXED_DATETIME, block_kind, load_source, prose
from fpdf import FPDF
from fpdf.fonts import FontFace

# kind -> (space before in mm or None, bold font size in pt, line height in mm)
_HEADINGS: dict[str, tuple[float | None, float, float]] = {
    "brand": (None, 22, 10),
    "title": (None, 18, 10),
    "h1": (3, 13, 8),
    "h2": (1, 11, 7),
    "caption": (1, 10, 7),
}
_BODY_SIZE = 10.5
_BODY_LINE = 5.4


class PolicyPDF(FPDF):
    """A4 portrait FPDF with a running header (two labels and a rule) and a page footer."""

    def __init__(self, header_left: str, header_right: str) -> None:
        """Create the document; the header labels are printed at the top of every page."""
        super().__init__(orientation="P", unit="mm", format="A4")
        self.header_left = header_left
        self.header_right = header_right

    def header(self) -> None:
        """Print the header labels and a rule under them."""
        self.set_font("Helvetica", "I", 8)
        self.set_text_color(90, 90, 90)
        self.cell(0, 5, self.header_left, align="L")
        self.cell(0, 5, self.header_right, align="R", new_x="LMARGIN", new_y="NEXT")
        self.line(self.l_margin, self.get_y() + 1, self.w - self.r_margin, self.get_y() + 1)
        self.ln(6)
        self.set_text_color(0, 0, 0)

    def footer(self) -> None:
        """Print "Page N of M" centred at the bottom."""
        self.set_y(-15)
        self.set_font("Helvetica", "I", 8)
        self.set_text_color(90, 90, 90)
        self.cell(0, 5, f"Page {self.page_no()} of {{nb}}", align="C")


def _heading(pdf: FPDF, kind: str, text: str) -> None:
    """Render a one-line bold block (brand, title, h1, h2 or caption)."""
    space, size, height = _HEADINGS[kind]
    if space is not None:
        pdf.ln(space)
    pdf.set_font("Helvetica", "B", size)
    pdf.cell(0, height, text, new_x="LMARGIN", new_y="NEXT")


def _subtitle(pdf: FPDF, text: str) -> None:
    """Render the line under the title."""
    pdf.set_font("Helvetica", "", 10)
    pdf.cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)


def _paragraph(pdf: FPDF, text: str) -> None:
    """Render a justified paragraph."""
    pdf.set_font("Helvetica", "", _BODY_SIZE)
    pdf.multi_cell(pdf.epw, _BODY_LINE, prose(text), align="J", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)


def _bullets(pdf: FPDF, items: Sequence[str]) -> None:
    """Render a dash-bulleted list, indented by 4 mm."""
    pdf.set_font("Helvetica", "", _BODY_SIZE)
    for item in items:
        pdf.set_x(pdf.l_margin + 4)
        pdf.cell(5, _BODY_LINE, "-")
        pdf.multi_cell(pdf.epw - 9, _BODY_LINE, item, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)


def _table(pdf: FPDF, rows: Sequence[Sequence[str]], layout: Mapping[str, Any]) -> None:
    """Render a bordered table whose first row is the shaded, bold header."""
    pdf.set_font("Helvetica", "", 9.5)
    headings = FontFace(emphasis="BOLD", fill_color=(220, 226, 235))
    with pdf.table(
        col_widths=tuple(layout["col_widths"]),
        text_align=tuple(layout["text_align"]),
        borders_layout="ALL",
        headings_style=headings,
        line_height=5.5,
        padding=1.5,
    ) as table:
        for row in rows:
            cells = table.row()
            for value in row:
                cells.cell(value)
    pdf.ln(4)


def _render_block(pdf: FPDF, block: Mapping[str, Any], layout: Mapping[str, Any]) -> None:
    """Render one source block on the current page."""
    kind, value = block_kind(block)
    simple: dict[str, Callable[[FPDF, Any], None]] = {
        "subtitle": _subtitle,
        "p": _paragraph,
        "bullets": _bullets,
    }
    if kind in _HEADINGS:
        _heading(pdf, kind, value)
    elif kind in simple:
        simple[kind](pdf, value)
    elif kind == "table":
        _table(pdf, value, layout)
    else:
        raise ValueError(f"unknown PDF block kind {kind!r}")


def _new_document(source: Mapping[str, Any]) -> PolicyPDF:
    """Create the PDF with its margins, header labels and document metadata."""
    header, meta = source["header"], source["metadata"]
    pdf = PolicyPDF(header["left"], header["right"])
    pdf.set_margins(20, 15, 20)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.set_creation_date(FIXED_DATETIME)
    pdf.set_title(meta["title"])
    pdf.set_author(meta["author"])
    pdf.set_subject(meta["subject"])
    pdf.set_creator(meta["creator"])
    pdf.set_lang(meta["lang"])
    return pdf


def write_pdf(source_path: Path, out_path: Path) -> None:
    """Write the PDF, one explicit page per ``[[page]]`` of the source."""
    source = load_source(source_path)
    pdf = _new_document(source)
    for number, page in enumerate(source["page"], start=1):
        pdf.add_page()
        for block in page["block"]:
            _render_block(pdf, block, source["table_layout"])
        if pdf.page != number:
            raise RuntimeError(f"PDF content for page {number} overflowed onto a new page")
    pdf.output(str(out_path))
