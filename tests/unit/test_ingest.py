"""Ingestion jobs on real files in tmp_path, with the fake embedder: runs and reruns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from indexes.filters import SearchFilter
from indexes.library import DocumentIndex
from indexes.records import content_id
from ingest.chunking import Chunk
from ingest.jobs import Ingester, embedding_text
from ingest.outcomes import FileOutcome
from tests.unit.fakes import FakeEmbedder
from tests.unit.ingest_kit import by_name, make_ingester

NO_FILTER = SearchFilter()


@pytest.fixture
def ingester(index: DocumentIndex) -> Ingester:
    return make_ingester(index)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "cards.txt").write_text(
        "Card fees are charged monthly.\n\nA replacement card costs ten euros.\n"
    )
    (folder / "loans.md").write_text(
        "# Loans\n\nMortgage rates are fixed for ten years.\n\n## Early repayment\n\n"
        "Early repayment of a mortgage carries a penalty.\n"
    )
    (folder / "faq.jsonl").write_text(
        json.dumps({"_id": "q1", "title": "Opening hours", "text": "Branches open at nine."})
        + "\n"
        + json.dumps({"_id": "q2", "title": "Lost card", "text": "Call the hotline at once."})
        + "\n"
    )
    return folder


def keyword_texts(index: DocumentIndex, query: str) -> list[str]:
    hits = index.keyword_search(query, 10, NO_FILTER)
    stored = index.store.chunks_by_rowids([r for r, _ in hits])
    return [stored[r].chunk.text for r, _ in hits]


def test_first_run_stores_every_file(
    index: DocumentIndex, ingester: Ingester, corpus: Path, embedder: FakeEmbedder
) -> None:
    report = ingester.run([corpus])
    outcomes = by_name(report)
    assert {n: o.status for n, o in outcomes.items()} == {
        "cards.txt": "ok", "loans.md": "ok", "faq.jsonl": "ok",
    }
    assert outcomes["faq.jsonl"].documents == 2
    assert report.count("ok") == 3
    documents = index.store.documents()
    assert len(documents) == 4
    assert report.chunks == index.store.count_chunks() > 0
    faq = index.store.document_by_path(f"{(corpus / 'faq.jsonl').resolve()}#q2")
    assert faq is not None
    assert faq.title == "Lost card"
    assert faq.doc_id == content_id(faq.source_path)
    assert faq.ingested_at == "2024-05-01T12:00:00+00:00"
    assert all(d.version == 1 for d in documents)
    loans = index.store.document_by_path(str((corpus / "loans.md").resolve()))
    assert loans is not None and loans.title == "Loans" and loans.mime == "text/markdown"
    assert any("Early repayment" in t for t in keyword_texts(index, "penalty"))


def test_stored_vectors_line_up_with_their_chunks(
    index: DocumentIndex, corpus: Path, embedder: FakeEmbedder
) -> None:
    # A tiny batch size flushes several times in one run: offsets must stay aligned.
    report = make_ingester(index, batch_chunks=1).run([corpus])
    assert report.count("ok") == 3
    checked = 0
    for document in index.store.documents():
        rowids = index.store.allowed_rowids(SearchFilter(doc_ids=frozenset({document.doc_id})))
        for rowid, stored in index.store.chunks_by_rowids([int(r) for r in rowids]).items():
            chunk = Chunk(stored.chunk.text, None, None, stored.chunk.section, stored.chunk.kind)
            expected = embedder.vector(embedding_text(document, chunk))
            cosine = index.similarity(expected, [rowid])[rowid]
            assert cosine == pytest.approx(1.0, abs=1e-5)
            checked += 1
    assert checked == index.store.count_chunks() >= 4


def test_rerun_on_unchanged_files_writes_nothing(
    index_dir: Path, corpus: Path, embedder: FakeEmbedder
) -> None:
    first = DocumentIndex(index_dir, embedder)
    make_ingester(first).run([corpus])
    generation = first.store.generation()
    documents = first.store.documents()
    first.close()
    faiss_file = index_dir / "vectors.faiss"
    stamp = faiss_file.stat().st_mtime_ns

    embedder_again = FakeEmbedder()
    second = DocumentIndex(index_dir, embedder_again)
    report = make_ingester(second).run([corpus])
    assert {o.status for o in report.outcomes} == {"unchanged"}
    assert report.count("unchanged") == 3
    assert report.chunks == 0
    assert second.store.generation() == generation
    assert second.store.documents() == documents
    assert embedder_again.passage_calls == 0
    assert faiss_file.stat().st_mtime_ns == stamp
    second.close()


def test_rerun_in_same_process_skips_embedding(
    index: DocumentIndex, ingester: Ingester, corpus: Path, embedder: FakeEmbedder
) -> None:
    ingester.run([corpus])
    calls, generation = embedder.passage_calls, index.store.generation()
    report = ingester.run([corpus])
    assert report.count("unchanged") == 3
    assert embedder.passage_calls == calls
    assert index.store.generation() == generation


def test_changed_file_bumps_version_and_replaces_chunks(
    index: DocumentIndex, ingester: Ingester, corpus: Path
) -> None:
    ingester.run([corpus])
    cards = str((corpus / "cards.txt").resolve())
    before = index.store.document_by_path(cards)
    assert before is not None

    (corpus / "cards.txt").write_text("Contactless payments are capped at fifty euros.\n")
    report = ingester.run([corpus])
    statuses = {n: o.status for n, o in by_name(report).items()}
    assert statuses == {"cards.txt": "ok", "loans.md": "unchanged", "faq.jsonl": "unchanged"}

    after = index.store.document_by_path(cards)
    assert after is not None
    assert after.doc_id == before.doc_id
    assert after.version == 2
    assert after.content_hash != before.content_hash
    assert after.chunk_count == 1
    assert keyword_texts(index, "replacement") == []
    assert keyword_texts(index, "contactless") == [
        "Contactless payments are capped at fifty euros."
    ]
    assert index._vector_index().size == index.store.count_chunks()


def test_changed_jsonl_record_only_replaces_that_record(
    index: DocumentIndex, ingester: Ingester, corpus: Path
) -> None:
    ingester.run([corpus])
    faq = corpus / "faq.jsonl"
    faq.write_text(
        json.dumps({"_id": "q1", "title": "Opening hours", "text": "Branches open at nine."})
        + "\n"
        + json.dumps({"_id": "q2", "title": "Lost card", "text": "Block it in the app."})
        + "\n"
    )
    report = ingester.run([faq])
    assert by_name(report)["faq.jsonl"].status == "ok"
    assert by_name(report)["faq.jsonl"].documents == 1
    source = str(faq.resolve())
    q1, q2 = index.store.document_by_path(f"{source}#q1"), index.store.document_by_path(
        f"{source}#q2")
    assert q1 is not None and q1.version == 1
    assert q2 is not None and q2.version == 2
    assert keyword_texts(index, "hotline") == []


def test_jsonl_with_duplicate_ids_is_refused_on_every_run(
    index: DocumentIndex, ingester: Ingester, tmp_path: Path
) -> None:
    # Two records with one id would be one document written twice: refused, by line.
    path = tmp_path / "dup.jsonl"
    path.write_text(
        json.dumps({"_id": "1", "text": "first record text"}) + "\n"
        + json.dumps({"_id": "1", "text": "second record text"}) + "\n"
    )
    for _ in range(2):
        (outcome,) = ingester.run([path]).outcomes
        assert outcome.status == "failed"
        assert outcome.reason == "line 2: duplicate record id '1'"
        assert outcome.chunks == 0
        assert index.store.documents() == []
        assert index.store.generation() == 0


def test_progress_events(index: DocumentIndex, ingester: Ingester, corpus: Path) -> None:
    class Recorder:
        def __init__(self) -> None:
            self.files: list[str] = []
            self.chunks = 0

        def file_done(self, outcome: FileOutcome) -> None:
            self.files.append(Path(outcome.path).name)

        def chunks_done(self, count: int) -> None:
            self.chunks += count

    (corpus / "skip.exe").write_bytes(b"x")
    recorder = Recorder()
    report = ingester.run([corpus], recorder)
    assert sorted(recorder.files) == ["cards.txt", "faq.jsonl", "loans.md", "skip.exe"]
    assert recorder.chunks == report.chunks == index.store.count_chunks()
