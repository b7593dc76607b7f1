"""JSON Lines sources: one record per line, malformed lines named by number."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.elements import Element, ParseError
from ingest.records import SourceRecord, iter_records, record_document


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_records_are_parsed_with_ids_titles_and_texts(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "faq.jsonl", [
        json.dumps({"_id": "q1", "title": "Card fees", "text": "The fee is 2 euros."}),
        "",
        "   ",
        json.dumps({"id": 42, "text": "Réclamation sous 30 jours.", "extra": True}),
        json.dumps({"title": None, "text": None}),
    ])
    assert list(iter_records(path)) == [
        SourceRecord("q1", "Card fees", "The fee is 2 euros."),
        SourceRecord("42", "", "Réclamation sous 30 jours."),
        SourceRecord("5", "", ""),  # no id: the line number
    ]


@pytest.mark.parametrize(
    ("bad_line", "reason"),
    [
        ('{"_id": "x", "text": "unterminated', "invalid JSON"),
        ('{"_id": "x", "title": "no text"}', 'needs a "text" field'),
        ('["a", "list"]', 'needs a "text" field'),
        ("not json at all", "invalid JSON"),
    ],
)
def test_malformed_line_raises_parse_error_naming_the_line(
    tmp_path: Path, bad_line: str, reason: str
) -> None:
    path = write_lines(tmp_path / "data.jsonl", [
        json.dumps({"_id": "1", "text": "good"}),
        "",
        bad_line,
        json.dumps({"_id": "4", "text": "also good"}),
    ])
    with pytest.raises(ParseError) as caught:
        list(iter_records(path))
    assert caught.value.reason.startswith("line 3: ")
    assert reason in caught.value.reason
    assert caught.value.path == str(path)
    assert str(path) in str(caught.value)


def test_record_document_makes_title_and_paragraphs() -> None:
    record = SourceRecord("r7", "  Loan policy ", "First paragraph.\n\nSecond one.\n\n\n\n")
    parsed = record_document(record)
    assert parsed.title == "Loan policy"
    assert parsed.mime == "application/x-ndjson"
    assert parsed.pages is None
    assert parsed.elements == [
        Element("title", "Loan policy", None, depth=0),
        Element("text", "First paragraph.", None),
        Element("text", "Second one.", None),
    ]


def test_record_document_without_title_uses_the_id() -> None:
    parsed = record_document(SourceRecord("r8", "", "Only text."))
    assert parsed.title == "r8"
    assert [e.kind for e in parsed.elements] == ["text"]
