"""JSON Lines sources: one record `{"_id", "title", "text", ...}` per line, one document each."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ingest.elements import Element, ParsedDocument, ParseError


@dataclass(frozen=True)
class SourceRecord:
    """One record of a JSON Lines file, ready to chunk as its own document."""

    record_id: str
    title: str
    text: str


def iter_records(path: Path) -> Iterator[SourceRecord]:
    """Records of a JSON Lines file; a malformed line raises ParseError naming the line."""
    seen: set[str] = set()
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ParseError(str(path), f"line {number}: invalid JSON ({exc.msg})") from exc
            if not isinstance(data, dict) or "text" not in data:
                raise ParseError(str(path), f"line {number}: a record needs a \"text\" field")
            record_id = str(data.get("_id", data.get("id", number)))
            if record_id in seen:
                raise ParseError(str(path), f"line {number}: duplicate record id {record_id!r}")
            seen.add(record_id)
            yield SourceRecord(record_id, str(data.get("title") or ""), str(data["text"] or ""))


def record_document(record: SourceRecord) -> ParsedDocument:
    """A record as a parsed document: its title as heading, its text as paragraphs."""
    elements = []
    if record.title.strip():
        elements.append(Element("title", record.title.strip(), None, depth=0))
    for paragraph in record.text.split("\n\n"):
        if paragraph.strip():
            elements.append(Element("text", paragraph.strip(), None))
    return ParsedDocument(
        title=record.title.strip() or record.record_id,
        elements=elements,
        mime="application/x-ndjson",
    )
