"""Ingestion jobs and access groups: sidecar and folder access files, default groups."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from indexes.filters import SearchFilter
from indexes.library import DocumentIndex
from ingest.jobs import Ingester
from tests.unit.ingest_kit import by_name, make_ingester


@pytest.fixture
def ingester(index: DocumentIndex) -> Ingester:
    return make_ingester(index)


def test_access_groups_from_sidecar_and_folder_files(
    index: DocumentIndex, ingester: Ingester, tmp_path: Path
) -> None:
    folder = tmp_path / "restricted"
    folder.mkdir()
    (folder / "_acl.json").write_text(json.dumps({"groups": ["risk", "audit", "risk"]}))
    (folder / "limits.txt").write_text("Credit limits by segment.\n")
    (folder / "salaries.txt").write_text("Salary bands for staff.\n")
    (folder / "salaries.txt.acl.json").write_text(json.dumps({"groups": ["hr"]}))
    report = ingester.run([folder])
    outcomes = by_name(report)
    # The access files themselves are not ingested.
    assert set(outcomes) == {"limits.txt", "salaries.txt"}
    assert outcomes["limits.txt"].groups == ("audit", "risk")
    limits = index.store.document_by_path(str((folder / "limits.txt").resolve()))
    salaries = index.store.document_by_path(str((folder / "salaries.txt").resolve()))
    assert limits is not None and limits.groups == ("audit", "risk")
    assert salaries is not None and salaries.groups == ("hr",)
    hr_only = SearchFilter(groups=frozenset({"hr"}))
    hits = index.keyword_search("salary credit", 10, hr_only)
    assert [index.store.chunks_by_rowids([r])[r].document.doc_id for r, _ in hits] == [
        salaries.doc_id
    ]

    # Changing only the access file updates the groups without re-ingesting.
    (folder / "salaries.txt.acl.json").write_text(json.dumps({"groups": ["hr", "payroll"]}))
    generation = index.store.generation()
    report = ingester.run([folder])
    assert by_name(report)["salaries.txt"].status == "unchanged"
    updated = index.store.document(salaries.doc_id)
    assert updated is not None and updated.groups == ("hr", "payroll")
    assert updated.version == 1
    assert index.store.generation() == generation


def test_default_groups_apply_without_access_files(index: DocumentIndex, tmp_path: Path) -> None:
    (tmp_path / "memo.txt").write_text("Internal memo.\n")
    make_ingester(index, default_groups=("staff",)).run([tmp_path / "memo.txt"])
    (document,) = index.store.documents()
    assert document.groups == ("staff",)


@pytest.mark.parametrize(
    ("content", "reason"),
    [('{"groups": "hr"}', '"groups" must be a list of strings'),
     ('{"group": ["hr"]}', "invalid access file"),
     ("not json", "invalid access file")],
)
def test_invalid_access_file_fails_the_file(
    index: DocumentIndex, ingester: Ingester, tmp_path: Path, content: str, reason: str
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "doc.txt").write_text("Some text.\n")
    (folder / "doc.txt.acl.json").write_text(content)
    (outcome,) = ingester.run([folder]).outcomes
    assert outcome.status == "failed"
    assert reason in outcome.reason
    assert index.store.documents() == []
