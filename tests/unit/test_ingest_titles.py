"""Titles stay short wherever they come from, and a file of one unbroken word is stored as
chunks under the character cap."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fpdf import FPDF

from indexes.filters import SearchFilter
from indexes.library import DocumentIndex
from ingest.parsing import parse_file
from ingest.titles import cap_title
from tests.unit.ingest_kit import by_name, make_ingester

LONG = " ".join(["Quarterly"] * 600)  # 5 999 characters of words


def test_cap_title_cuts_at_a_word_boundary_with_an_ellipsis() -> None:
    assert cap_title("Card fees 2024") == "Card fees 2024"
    assert cap_title("x" * 200) == "x" * 200
    capped = cap_title(LONG)
    assert capped == " ".join(["Quarterly"] * 19) + "…"
    assert len(capped) <= 200
    assert cap_title("y" * 10_000) == "y" * 199 + "…"  # no space to cut at
    assert cap_title("word " * 10, limit=12) == "word word…"


def _pdf(path: Path, title: str) -> Path:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.set_y(100)  # a line at the very top would be taken for a page header
    pdf.multi_cell(0, 10, text="Mortgage rates are fixed for ten years. Early repayment of "
                   "a mortgage carries a penalty of three months of interest.")
    pdf.set_title(title)
    pdf.output(str(path))
    return path


@pytest.mark.parametrize("source", ["html", "eml", "pdf", "file name"])
def test_a_title_from_any_source_is_capped(tmp_path: Path, source: str) -> None:
    if source == "html":
        path = tmp_path / "page.html"
        path.write_text(f"<html><head><title>{LONG}</title></head><body><p>Fees.</p></body>")
    elif source == "eml":
        path = tmp_path / "mail.eml"
        path.write_text(f"Subject: {LONG}\nFrom: a@b.c\n\nThe fee is ten euros.\n")
    elif source == "pdf":
        path = _pdf(tmp_path / "policy.pdf", LONG)
    else:
        path = tmp_path / ("q" * 250 + ".txt")
        path.write_text("The fee is ten euros.\n")
    title = parse_file(path).title
    assert len(title) <= 200 and title.endswith("…")
    assert title.startswith("Quarterly Quarterly" if source != "file name" else "qqqq")


def test_an_unbroken_word_file_and_a_huge_record_title_are_stored_small(
    index: DocumentIndex, tmp_path: Path
) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    word = "z" * (2 * 1024 * 1024)
    (folder / "unbroken.txt").write_text(word)
    (folder / "faq.jsonl").write_text(json.dumps({"_id": "a", "title": "t" * 100_000,
                                                  "text": "Branches open at nine."}) + "\n")
    report = make_ingester(index).run([folder])
    assert {n: o.status for n, o in by_name(report).items()} == {
        "unbroken.txt": "ok", "faq.jsonl": "ok"}
    documents = {Path(d.source_path).name.split("#")[0]: d for d in index.store.documents()}
    assert documents["unbroken.txt"].title == "unbroken"  # the word is text, not a heading
    assert documents["faq.jsonl"].title == "t" * 199 + "…"
    limit = make_ingester(index).chunker.config.char_limit
    by_rowid = index.store.chunks_by_rowids(
        [int(r) for r in index.store.allowed_rowids(SearchFilter())])
    stored = sorted(by_rowid.values(), key=lambda s: s.chunk.ordinal)
    assert all(len(s.chunk.text) <= limit and len(s.chunk.section) <= 400 for s in stored)
    assert "".join(s.chunk.text for s in stored if s.document.title == "unbroken") == word
