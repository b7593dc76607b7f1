"""PDF text read with PDFium: lines joined from runs, bullets, headings by font and
spacing, running headers and page numbers dropped; a real PDF written by fpdf2."""

from __future__ import annotations

from pathlib import Path

import pytest
from fpdf import FPDF

from ingest.elements import ParseError
from ingest.pdf_text import pdf_blocks


def write_pdf(path: Path, pages: int = 3) -> Path:
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(False)
    for number in range(1, pages + 1):
        pdf.add_page()
        pdf.set_font("helvetica", size=8)
        pdf.set_xy(15, 8)
        pdf.cell(0, 5, "Northbridge Bank - Payments Manual (PM-02)")  # running header
        pdf.set_font("helvetica", size=16)
        pdf.set_xy(15, 30)
        pdf.cell(0, 8, f"{number}. Section {number}")
        pdf.set_font("helvetica", size=10)
        pdf.set_xy(15, 45)
        pdf.multi_cell(170, 5, "Orders received after the cut-off are executed on the next "
                               "business day. Urgent orders need the duty manager's approval, "
                               "given in writing before the payment is released.")
        for k, item in enumerate(("Check the identity document.", "Verify the signature.")):
            pdf.set_xy(20, 70 + 6 * k)
            pdf.cell(4, 5, "-")
            pdf.set_xy(26, 70 + 6 * k)
            pdf.cell(0, 5, item)
        pdf.set_xy(100, 285)
        pdf.cell(0, 5, str(number))  # the page number
    pdf.output(str(path))
    return path


def test_blocks_read_headings_paragraphs_and_bullets_and_drop_running_lines(
    tmp_path: Path
) -> None:
    blocks = pdf_blocks(write_pdf(tmp_path / "manual.pdf"))
    first = [(b.category, b.text) for b in blocks if b.metadata.page_number == 1]
    assert first == [
        ("Title", "1. Section 1"),
        ("NarrativeText", "Orders received after the cut-off are executed on the next business "
                          "day. Urgent orders need the duty manager's approval, given in writing "
                          "before the payment is released."),
        ("ListItem", "Check the identity document."),
        ("ListItem", "Verify the signature."),
    ]
    assert not any("Payments Manual" in b.text for b in blocks)  # the running header
    assert len(blocks) == 12
    (x0, top), _, (x1, bottom), _ = blocks[0].metadata.coordinates.points
    assert 85 < top < bottom < 120 and x0 < x1  # points (30 mm = 85) from the top-left


def test_a_file_pdfium_cannot_open_is_refused_by_name(tmp_path: Path) -> None:
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\n" + b"\x00" * 100)
    with pytest.raises(ParseError, match=r"broken\.pdf"):
        pdf_blocks(broken)
