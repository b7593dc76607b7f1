"""The job runner with a real store: a write that fails (disk full) fails the job with what
to do and leaves the last committed state; a source no longer configured fails by name."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from indexes.library import DocumentIndex
from ingest.job_runner import JobRunner
from ingest.job_store import JobSpec, JobState, JobStore
from tests.unit.ingest_kit import make_ingester


@pytest.fixture
def runner(index: DocumentIndex, tmp_path: Path) -> JobRunner:
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "limits.txt").write_text("The desk limit is 25 million euros.\n")
    return JobRunner(JobStore(tmp_path / "jobs.sqlite3"), make_ingester(index),
                     {"policies": folder})


def run_source(runner: JobRunner, source: str = "policies") -> JobState:
    job = runner.store.create(JobSpec("olga", source, (), ("staff",), sync=True))
    return runner.run(runner.store.claim(job.job_id)).state


def test_a_full_disk_fails_the_job_with_what_to_do_and_keeps_the_committed_version(
    runner: JobRunner, index: DocumentIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_source(runner) is JobState.DONE
    (runner.sources["policies"] / "limits.txt").write_text("The desk limit is 30 million.\n")

    def full(*_: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(index.store, "replace_document", full)
    assert run_source(runner) is JobState.FAILED
    (job, _) = runner.store.jobs()
    assert "database or disk is full" in job.note and "free disk space" in job.note
    monkeypatch.undo()
    (chunk,) = index.store.chunks_by_rowids([1]).values()
    assert chunk.chunk.text == "The desk limit is 25 million euros."
    assert run_source(runner) is JobState.DONE  # space freed: the rerun finishes the work
    assert [c.chunk.text for c in index.store.chunks_by_rowids([2]).values()] == [
        "The desk limit is 30 million."]


def test_a_source_removed_from_the_settings_fails_its_queued_job_by_name(
    runner: JobRunner
) -> None:
    assert run_source(runner, "gone") is JobState.FAILED
    (job,) = runner.store.jobs()
    assert "source 'gone' is not in COFFRE_SOURCES" in job.note
