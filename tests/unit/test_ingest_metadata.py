"""Sidecar metadata (`NAME.meta.json`, `_meta.json`): stored, checked, expiry kept out of
search, and the newer effective date marked in the prompt."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from indexes.library import DocumentIndex
from ingest.jobs import Ingester
from ingest.outcomes import FileStatus
from rag.prompt import build_prompt
from rag.retrieval import RetrievalConfig, Retriever
from tests.unit.fakes import FakeEmbedder, word_count
from tests.unit.ingest_kit import by_name, make_ingester

OLD_POLICY = "Remote work is allowed two days per week for full-time staff."
NEW_POLICY = "From March, remote work is allowed three days per week for full-time staff."


@pytest.fixture
def ingester(index: DocumentIndex) -> Ingester:
    return make_ingester(index)


def write(folder: Path, name: str, text: str, meta: dict[str, object] | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text + "\n")
    if meta is not None:
        (folder / f"{name}.meta.json").write_text(json.dumps(meta))


def test_the_sidecar_wins_over_the_folder_defaults_and_is_stored(
    index: DocumentIndex, ingester: Ingester, tmp_path: Path
) -> None:
    folder = tmp_path / "hr"
    write(folder, "remote.txt", OLD_POLICY, {"title": "Remote working policy",
                                            "effective_date": "2024-01-01", "tags": ["hr"]})
    (folder / "_meta.json").write_text(json.dumps({"owner": "HR", "title": "Folder title"}))
    ingester.run([folder])
    (document,) = index.store.documents()
    assert (document.title, document.owner, document.effective_date, document.tags) == (
        "Remote working policy", "HR", "2024-01-01", ("hr",))


def test_a_changed_sidecar_is_a_new_version(
    index: DocumentIndex, ingester: Ingester, tmp_path: Path
) -> None:
    folder = tmp_path / "hr"
    write(folder, "remote.txt", OLD_POLICY, {"expiry_date": "2030-01-01"})
    ingester.run([folder])
    write(folder, "remote.txt", OLD_POLICY, {"expiry_date": "2025-01-01"})
    assert by_name(ingester.run([folder]))["remote.txt"].status is FileStatus.OK
    (document,) = index.store.documents()
    assert (document.version, document.expiry_date) == (2, "2025-01-01")


@pytest.mark.parametrize(("meta", "reason"), [
    ({"titel": "x"}, "unknown field 'titel'"),
    ({"effective_date": "01/03/2026"}, '"effective_date" must be a day written YYYY-MM-DD'),
    ({"tags": "hr"}, '"tags" must be a list of strings'),
    ({"effective_date": "2026-03-01", "expiry_date": "2026-01-01"}, "expiry_date must come"),
    ([1, 2], "not a JSON object"),
])
def test_a_bad_sidecar_fails_its_file_by_name(
    index: DocumentIndex, ingester: Ingester, tmp_path: Path, meta: object, reason: str
) -> None:
    folder = tmp_path / "hr"
    write(folder, "remote.txt", OLD_POLICY)
    (folder / "remote.txt.meta.json").write_text(json.dumps(meta))
    outcome = by_name(ingester.run([folder]))["remote.txt"]
    assert outcome.status is FileStatus.FAILED
    assert reason in outcome.reason and "remote.txt" in outcome.reason
    assert index.store.documents() == []


def test_an_expired_document_is_not_retrieved_from_its_expiry_day(
    index: DocumentIndex, ingester: Ingester, embedder: FakeEmbedder, tmp_path: Path
) -> None:
    folder = tmp_path / "hr"
    write(folder, "old.txt", OLD_POLICY, {"expiry_date": "2026-03-01"})
    write(folder, "new.txt", NEW_POLICY)
    ingester.run([folder])
    today = [date(2026, 2, 28)]
    retriever = Retriever(index, embedder, RetrievalConfig(), today=lambda: today[0])
    before = {h.stored.chunk.text for h in retriever.search("remote work days per week", 5)}
    assert before == {OLD_POLICY, NEW_POLICY}
    today[0] = date(2026, 3, 1)
    for mode in ("hybrid", "vector", "keyword"):
        after = retriever.search("remote work days per week", 5, mode=mode)  # type: ignore[arg-type]
        assert {h.stored.chunk.text for h in after} == {NEW_POLICY}


def test_the_prompt_marks_the_source_that_took_effect_last(
    index: DocumentIndex, ingester: Ingester, embedder: FakeEmbedder, tmp_path: Path
) -> None:
    folder = tmp_path / "hr"
    write(folder, "old.txt", OLD_POLICY, {"effective_date": "2024-01-01"})
    write(folder, "new.txt", NEW_POLICY, {"effective_date": "2026-03-01"})
    ingester.run([folder])
    hits = Retriever(index, embedder, RetrievalConfig()).search("remote work two days", 2)
    assert hits[0].stored.chunk.text == OLD_POLICY  # the older one ranks first
    prompt = build_prompt("How many remote days?", hits, budget_tokens=10_000,
                          count_tokens=word_count)
    user = prompt.messages[1]["content"]
    assert "(in effect from 2024-01-01)" in user and "(in effect from 2026-03-01)" in user
    assert "Source [2] took effect last (2026-03-01): where [1] says otherwise, [2] replaces it" \
        in user


def test_sources_without_dates_get_no_precedence_note(
    index: DocumentIndex, ingester: Ingester, embedder: FakeEmbedder, tmp_path: Path
) -> None:
    folder = tmp_path / "hr"
    write(folder, "old.txt", OLD_POLICY)
    write(folder, "new.txt", NEW_POLICY, {"effective_date": "2026-03-01"})
    ingester.run([folder])
    hits = Retriever(index, embedder, RetrievalConfig()).search("remote work", 2)
    user = build_prompt("Q?", hits, budget_tokens=10_000, count_tokens=word_count).messages[1]
    assert "in effect from" not in user["content"] and "took effect" not in user["content"]
