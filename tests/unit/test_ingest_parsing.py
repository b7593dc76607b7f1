"""The parsing rules that need no parser: file signatures, header titles, PDF headings,
element conversion and PDF table placement, on hand-made elements."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from ingest.conversion import convert, table_rows
from ingest.elements import ParseError
from ingest.file_types import SUPPORTED_TYPES, check_signature, email_title
from ingest.headings import (
    heading_depth,
    is_numbered_heading,
    join_split_headings,
    looks_like_heading,
)
from ingest.html_text import visible_html
from ingest.parsing import SUPPORTED_TYPES as REEXPORTED
from ingest.pdf_placement import place_tables, table_element
from ingest.pdf_tables import PdfTable


def raw(category: str, text: str, page: int | None = 1, box: tuple[float, float] | None = None,
        **metadata: Any) -> SimpleNamespace:
    """An element shaped like unstructured's; `box` is its (left, top) corner, 10pt square."""
    coordinates = None
    if box is not None:
        x, y = box
        coordinates = SimpleNamespace(points=[(x, y), (x, y + 10), (x + 10, y + 10), (x + 10, y)])
    return SimpleNamespace(category=category, text=text, metadata=SimpleNamespace(
        page_number=page, coordinates=coordinates, **metadata))


# -- file types -----------------------------------------------------------------------------


def test_supported_types_are_still_importable_from_parsing() -> None:
    assert REEXPORTED is SUPPORTED_TYPES
    assert SUPPORTED_TYPES[".pdf"] == ("application/pdf", b"%PDF-")


@pytest.mark.parametrize(
    ("content", "expected", "reason"),
    [
        (b"", None, "empty file"),
        (b"\xd0\xcf\x11\xe0rest", b"PK", "password-protected (encrypted) or legacy binary"),
        (b"plain text", b"%PDF-", "not a valid .pdf file (wrong signature)"),
    ],
)
def test_bad_signatures_are_refused(
    tmp_path: Path, content: bytes, expected: bytes | None, reason: str
) -> None:
    path = tmp_path / "file.pdf"
    path.write_bytes(content)
    with pytest.raises(ParseError) as caught:
        check_signature(path, expected)
    assert caught.value.reason.startswith(reason)
    assert caught.value.path == str(path)


def test_good_signatures_pass(tmp_path: Path) -> None:
    (tmp_path / "a.pdf").write_bytes(b"%PDF-1.7 ...")
    (tmp_path / "a.txt").write_bytes(b"\xd0\xcf\x11\xe0 text types are not checked")
    check_signature(tmp_path / "a.pdf", b"%PDF-")
    check_signature(tmp_path / "a.txt", None)


def test_titles_from_headers(tmp_path: Path) -> None:
    (tmp_path / "m.eml").write_text("Subject:  Card fees 2024 \nFrom: a@b.c\n\nBody.\n")
    (tmp_path / "n.eml").write_text("From: a@b.c\n\nBody.\n")
    assert email_title(tmp_path / "m.eml") == "Card fees 2024"
    assert email_title(tmp_path / "n.eml") is None
    assert visible_html("<html><TITLE>\n  Loan\n  rates </TITLE><p>x</p></html>").title == (
        "Loan rates")
    assert visible_html("<p>no title</p>").title is None


# -- PDF headings ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "heading"),
    [("3.2 Early repayment", True), ("Affordability And Credit Scoring", True),
     ("Fees", True), ("This sentence ends with a full stop.", False),
     ("lower case start", False), ("Ends with a colon:", False),
     ("One Two three four five six seven eight nine ten eleven", False)],
)
def test_looks_like_heading(text: str, heading: bool) -> None:
    assert looks_like_heading(text) is heading


def test_numbered_headings_and_their_depth() -> None:
    assert is_numbered_heading("3. Affordability and credit scoring")
    assert not is_numbered_heading("3. A numbered sentence that runs on much too long to be one")
    assert not is_numbered_heading("3. Ends like a list item;")
    assert not is_numbered_heading("Affordability")
    assert [heading_depth(t) for t in ("3. Loans", "3.2 Rates", "3.2.1 Fixed", "Loans")] == [
        0, 1, 2, 1,
    ]


def test_a_lone_section_number_is_joined_to_the_heading_after_it() -> None:
    items = [raw("Text", "4.1"), raw("Text", "Interest rates"), raw("Text", "5"),
             raw("Text", "On the next page", page=2)]
    joined = join_split_headings(items)
    assert [(i.category, i.text) for i in joined] == [
        ("Title", "4.1 Interest rates"), ("Text", "5"), ("Text", "On the next page"),
    ]


# -- conversion -----------------------------------------------------------------------------


def test_convert_keeps_kinds_and_drops_page_furniture() -> None:
    items = [
        raw("Header", "Bank confidential"), raw("Title", "Loans", category_depth=0),
        raw("NarrativeText", "  Rates are fixed.  "), raw("ListItem", "No fee"),
        raw("Image", "logo"), raw("Text", "   "), raw("Title", " ".join(["word"] * 21)),
        raw("Table", "A B", text_as_html="<table><tr><th>A</th><td> B  c</td></tr>"
            "<tr><td></td></tr></table>"),
    ]
    elements = convert(items)
    assert [(e.kind, e.text) for e in elements] == [
        ("title", "Loans"), ("text", "Rates are fixed."), ("list", "No fee"),
        ("text", " ".join(["word"] * 21)), ("table", "A B"),
    ]
    assert elements[0].depth == 0
    assert (elements[-1].rows, elements[-1].header_rows) == ([["A", "B c"]], 1)


def test_convert_with_strict_titles_keeps_only_heading_like_ones() -> None:
    items = [raw("Title", "3.2 Early repayment"), raw("Title", "a short line."),
             raw("ListItem", "4. Affordability checks")]
    elements = convert(items, strict_titles=True)
    assert [(e.kind, e.text, e.depth) for e in elements] == [
        ("title", "3.2 Early repayment", 1), ("text", "a short line.", None),
        ("title", "4. Affordability checks", 0),
    ]


def test_table_rows_skip_empty_rows() -> None:
    assert table_rows("<table><tr><td>x</td><td>1</td></tr><tr><td> </td></tr></table>") == [
        ["x", "1"],
    ]


# -- PDF table placement --------------------------------------------------------------------


def test_found_tables_replace_the_lines_inside_them_in_reading_order() -> None:
    table = PdfTable(1, (0.0, 100.0, 200.0, 200.0), [["Product", "LTV"], ["Buy-to-let", "70%"]],
                     1)
    late = PdfTable(2, (0.0, 500.0, 200.0, 600.0), [["A", "B"], ["1", "2"]], 1)
    items = [
        raw("NarrativeText", "Before the table.", box=(10, 50)),
        raw("NarrativeText", "Buy-to-let 70%", box=(10, 150)),  # inside: dropped
        raw("NarrativeText", "After the table.", box=(10, 250)),
        raw("NarrativeText", "Page two.", page=2, box=(10, 50)),
    ]
    elements = place_tables(items, [table, late])
    assert [(e.kind, e.page, e.text) for e in elements] == [
        ("text", 1, "Before the table."),
        ("table", 1, "Product | LTV\nBuy-to-let | 70%"),
        ("text", 1, "After the table."),
        ("text", 2, "Page two."),
        ("table", 2, "A | B\n1 | 2"),
    ]


def test_table_element_keeps_rows_and_header() -> None:
    element = table_element(PdfTable(3, (0, 0, 0, 0), [["H1", "H2"], ["a", "b"]], 2))
    assert (element.kind, element.page, element.header_rows) == ("table", 3, 2)
    assert element.text == "H1 | H2\na | b" and element.rows == [["H1", "H2"], ["a", "b"]]
