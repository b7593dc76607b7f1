"""Ingestion jobs on bad files: each fails by name with its reason, nothing of it is written."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from indexes.filters import SearchFilter
from indexes.library import DocumentIndex
from ingest.jobs import Ingester
from tests.unit.fakes import FakeEmbedder
from tests.unit.ingest_kit import by_name, make_ingester

NO_FILTER = SearchFilter()


@pytest.fixture
def ingester(index: DocumentIndex) -> Ingester:
    return make_ingester(index)


def keyword_texts(index: DocumentIndex, query: str) -> list[str]:
    hits = index.keyword_search(query, 10, NO_FILTER)
    stored = index.store.chunks_by_rowids([r for r, _ in hits])
    return [stored[r].chunk.text for r, _ in hits]


def test_bad_files_fail_by_name_while_good_ones_are_stored(
    index: DocumentIndex, ingester: Ingester, tmp_path: Path
) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good.txt").write_text("Overdraft limits are reviewed every year.\n")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "blank.md").write_text("   \n\n  \n")
    (folder / "report.pdf").write_text("This is plain text pretending to be a PDF.\n")
    (folder / "tool.exe").write_bytes(b"MZ\x90\x00binary")
    (folder / "broken.docx").write_bytes(b"PK\x03\x04" + os.urandom(300))
    (folder / "noext").write_text("no extension here\n")
    (folder / "bad.jsonl").write_text('{"_id": "1", "text": "fine"}\n{broken\n')
    (folder / ".hidden.txt").write_text("hidden files are skipped\n")

    report = ingester.run([folder, tmp_path / "missing.txt"])
    outcomes = by_name(report)
    assert set(outcomes) == {"good.txt", "empty.txt", "blank.md", "report.pdf", "tool.exe",
                             "broken.docx", "noext", "bad.jsonl", "missing.txt"}
    assert outcomes["good.txt"].status == "ok"
    assert outcomes["empty.txt"].status == "failed"
    assert outcomes["empty.txt"].reason == "empty file"
    assert outcomes["blank.md"].status == "failed"
    assert "no text found" in outcomes["blank.md"].reason
    assert outcomes["report.pdf"].status == "failed"
    assert "not a valid .pdf file" in outcomes["report.pdf"].reason
    assert outcomes["tool.exe"].status == "unsupported"
    assert outcomes["tool.exe"].reason == "unsupported file type .exe"
    assert outcomes["noext"].status == "unsupported"
    assert outcomes["noext"].reason == "unsupported file type (none)"
    assert outcomes["broken.docx"].status == "failed"
    assert outcomes["broken.docx"].reason.startswith("cannot parse")
    assert outcomes["bad.jsonl"].status == "failed"
    assert outcomes["bad.jsonl"].reason.startswith("line 2: invalid JSON")
    assert outcomes["missing.txt"].status == "failed"
    assert outcomes["missing.txt"].reason == "no such file or folder"
    for name, outcome in outcomes.items():
        assert outcome.path.endswith(name)
        if outcome.status != "ok":
            assert outcome.reason
            assert outcome.chunks == 0

    # Only the good file was written, and nothing of the half-good JSON Lines file.
    assert [Path(d.source_path).name for d in index.store.documents()] == ["good.txt"]
    assert keyword_texts(index, "overdraft") == ["Overdraft limits are reviewed every year."]
    assert keyword_texts(index, "fine") == []


def test_failed_reingest_keeps_the_previous_version_searchable(
    index: DocumentIndex, ingester: Ingester, tmp_path: Path, embedder: FakeEmbedder
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    policy = folder / "policy.txt"
    policy.write_text("Wire transfers above ten thousand euros need approval.\n")
    records = folder / "faq.jsonl"
    records.write_text(json.dumps({"_id": "a", "text": "Savings accounts pay interest."}) + "\n")
    assert ingester.run([folder]).count("ok") == 2
    stored_before = index.store.documents()

    policy.write_bytes(b"")  # truncated to nothing
    records.write_text(json.dumps({"_id": "a", "text": "Changed text."}) + "\n{oops\n")
    report = ingester.run([folder])
    assert {n: o.status for n, o in by_name(report).items()} == {
        "policy.txt": "failed", "faq.jsonl": "failed",
    }
    assert index.store.documents() == stored_before
    assert keyword_texts(index, "wire transfers") == [
        "Wire transfers above ten thousand euros need approval."
    ]
    assert keyword_texts(index, "savings interest") == ["Savings accounts pay interest."]
    assert keyword_texts(index, "changed") == []
    hits = index.vector_search(embedder.embed_query("wire transfer approval"), 1, NO_FILTER)
    top = index.store.chunks_by_rowids([hits[0][0]])[hits[0][0]]
    assert top.document.source_path == str(policy.resolve())


def test_file_over_the_size_limit_is_refused(index: DocumentIndex, tmp_path: Path) -> None:
    (tmp_path / "big.txt").write_text("word " * 400)
    (outcome,) = make_ingester(index, max_file_bytes=1000).run([tmp_path / "big.txt"]).outcomes
    assert outcome.status == "failed"
    assert "COFFRE_MAX_FILE_MB" in outcome.reason
    assert index.store.count_chunks() == 0
