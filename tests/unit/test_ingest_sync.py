"""A folder kept in sync: add, change, delete and re-add files, and check exactly which
chunks the keyword index, the vector index and FAISS hold after each step; versions."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from indexes.filters import SearchFilter
from indexes.library import DocumentIndex
from indexes.records import VersionEnd, content_id
from ingest.jobs import Ingester
from ingest.outcomes import FileStatus
from tests.unit.fakes import FakeEmbedder
from tests.unit.ingest_kit import by_name, make_ingester

NO_FILTER = SearchFilter()


@pytest.fixture
def ingester(index: DocumentIndex) -> Ingester:
    return make_ingester(index)


def searchable(index: DocumentIndex, embedder: FakeEmbedder, words: str) -> dict[str, set[str]]:
    """The texts each index returns for `words`, and the texts behind every FAISS vector."""
    keyword = index.keyword_search(words, 50, NO_FILTER)
    vector = index.vector_search(embedder.embed_query(words), 50, NO_FILTER)
    stored = index.store.chunks_by_rowids([r for r, _ in keyword + vector])
    faiss_ids = index._vector_index()._index.id_map  # the ids FAISS holds, in order
    held = index.store.chunks_by_rowids([int(faiss_ids.at(i)) for i in range(faiss_ids.size())])
    return {
        "keyword": {stored[r].chunk.text for r, _ in keyword},
        "vector": {stored[r].chunk.text for r, _ in vector if r in stored},
        "faiss": {c.chunk.text for c in held.values()},
    }


def test_add_change_delete_and_readd_leave_exactly_the_folder_searchable(
    index: DocumentIndex, ingester: Ingester, embedder: FakeEmbedder, tmp_path: Path
) -> None:
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "cards.txt").write_text("Card replacement costs ten euros.\n")
    (folder / "loans.txt").write_text("Mortgage rates are fixed for ten years.\n")
    ingester.run([folder], sync=True)
    assert searchable(index, embedder, "ten")["faiss"] == {
        "Card replacement costs ten euros.", "Mortgage rates are fixed for ten years."}
    assert index._vector_index().size == 2

    (folder / "cards.txt").write_text("Card replacement costs twelve euros.\n")
    report = ingester.run([folder], sync=True)
    assert {n: o.status for n, o in by_name(report).items()} == {
        "cards.txt": FileStatus.OK, "loans.txt": FileStatus.UNCHANGED}
    after_change = searchable(index, embedder, "card replacement euros")
    assert "Card replacement costs ten euros." not in after_change["keyword"] | \
        after_change["vector"] | after_change["faiss"]
    assert "Card replacement costs twelve euros." in after_change["keyword"]
    assert index._vector_index().size == 2

    (folder / "cards.txt").unlink()
    report = ingester.run([folder], sync=True)
    retired = [o for o in report.outcomes if o.status is FileStatus.RETIRED]
    assert [Path(o.path).name for o in retired] == ["cards.txt"]
    after_delete = searchable(index, embedder, "card replacement euros")
    assert after_delete["faiss"] == {"Mortgage rates are fixed for ten years."}
    assert after_delete["keyword"] == set()
    assert index._vector_index().size == 1  # the vectors left FAISS
    assert [d.title for d in index.store.documents()] == ["loans"]

    (folder / "cards.txt").write_text("Card replacement costs twelve euros.\n")
    ingester.run([folder], sync=True)
    doc_id = content_id(str((folder / "cards.txt").resolve()))
    versions = index.store.versions(doc_id)
    assert [(v.version, v.ended) for v in versions] == [
        (1, VersionEnd.REPLACED), (2, VersionEnd.RETIRED), (3, None)]
    assert index._vector_index().size == 2
    assert searchable(index, embedder, "twelve")["keyword"] == {
        "Card replacement costs twelve euros."}


def test_an_old_versions_passage_still_resolves_for_the_audit_trail(
    index: DocumentIndex, ingester: Ingester, tmp_path: Path
) -> None:
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "limits.txt").write_text("The single-obligor limit is 25 million euros.\n")
    (folder / "other.txt").write_text("Branches open at nine.\n")
    ingester.run([folder], sync=True)
    (old_chunk,) = index.store.chunks_by_rowids([1]).values()
    (folder / "limits.txt").write_text("The single-obligor limit is 30 million euros.\n")
    ingester.run([folder], sync=True)
    cited = index.store.chunk(old_chunk.chunk.chunk_id)
    assert cited is not None and not cited.current
    assert cited.chunk.text == "The single-obligor limit is 25 million euros."
    assert cited.document.version == 1
    (folder / "limits.txt").unlink()
    ingester.run([folder], sync=True)
    assert index.store.count_chunks() == 1  # other.txt's
    assert index.store.chunk(old_chunk.chunk.chunk_id) is not None  # retired: still on record


def test_a_file_that_breaks_keeps_its_stored_version_and_an_empty_folder_retires_nothing(
    index: DocumentIndex, ingester: Ingester, tmp_path: Path
) -> None:
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "cards.txt").write_text("Card replacement costs ten euros.\n")
    (folder / "faq.jsonl").write_text(json.dumps({"_id": "q1", "text": "Branches open at nine."})
                                      + "\n" + json.dumps({"_id": "q2", "text": "Hotline."}) + "\n")
    ingester.run([folder], sync=True)
    (folder / "cards.txt").write_bytes(b"")  # now empty: it fails, the good copy stays
    (folder / "faq.jsonl").write_text(json.dumps({"_id": "q1", "text": "Branches open at nine."})
                                      + "\n")
    report = ingester.run([folder], sync=True)
    statuses = {Path(o.path).name: o.status for o in report.outcomes}
    assert statuses["cards.txt"] is FileStatus.FAILED
    assert statuses["faq.jsonl#q2"] is FileStatus.RETIRED
    assert sorted(Path(d.source_path).name for d in index.store.documents()) == [
        "cards.txt", "faq.jsonl#q1"]
    for child in folder.iterdir():
        child.unlink()
    report = ingester.run([folder], sync=True)
    assert [o.reason for o in report.outcomes] == ["the folder is empty: nothing retired"]
    assert len(index.store.documents()) == 2


def test_without_sync_nothing_is_retired(
    index: DocumentIndex, ingester: Ingester, tmp_path: Path
) -> None:
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "a.txt").write_text("Alpha.\n")
    (folder / "b.txt").write_text("Beta.\n")
    ingester.run([folder])
    (folder / "a.txt").unlink()
    assert ingester.run([folder]).count(FileStatus.RETIRED) == 0
    assert len(index.store.documents()) == 2


def test_a_link_out_of_the_folder_is_refused_by_name(
    index: DocumentIndex, ingester: Ingester, tmp_path: Path
) -> None:
    secret = tmp_path / "elsewhere" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("Salaries of the board.\n")
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "a.txt").write_text("Alpha.\n")
    os.symlink(secret, folder / "link.txt")
    outcomes = by_name(ingester.run([folder], sync=True))
    assert outcomes["link.txt"].status is FileStatus.FAILED
    assert "symbolic link" in outcomes["link.txt"].reason
    assert [Path(d.source_path).name for d in index.store.documents()] == ["a.txt"]
