"""`coffre ingest` as a recorded job, and `coffre jobs list|show|cancel`, in-process."""

from __future__ import annotations

from pathlib import Path

from api.ingest_wiring import job_store
from api.settings import load_settings
from ingest.job_store import JobSpec
from tests.unit.cli_kit import fake_wiring, run, write_corpus


def test_an_ingest_is_a_job_that_jobs_list_and_show_report(tmp_path: Path) -> None:
    wiring, corpus = fake_wiring(tmp_path), write_corpus(tmp_path)
    assert run(wiring, "ingest", str(corpus)).exit_code == 0
    listed = run(wiring, "jobs", "list")
    assert listed.exit_code == 0 and "done" in listed.stdout and "2/2" in listed.stdout
    (job,) = job_store(load_settings(data_dir=tmp_path / "data")).jobs()
    shown = run(wiring, "jobs", "show", job.job_id)
    assert shown.exit_code == 0 and f"job {job.job_id}: done, files 2/2" in shown.stdout
    assert shown.stdout.count(" ok ") == 2


def test_ingest_retires_a_removed_file_unless_told_to_keep_it(tmp_path: Path) -> None:
    wiring, corpus = fake_wiring(tmp_path), write_corpus(tmp_path)
    run(wiring, "ingest", str(corpus))
    removed = corpus / "cards.jsonl"
    removed.unlink()
    kept = run(wiring, "ingest", "--keep-missing", str(corpus))
    assert "retired 0" in kept.stdout
    synced = run(wiring, "ingest", str(corpus))
    assert "retired 1" in synced.stdout and removed.name in synced.stdout


def test_jobs_cancel_a_queued_job_and_an_unknown_one_exits_1(tmp_path: Path) -> None:
    wiring = fake_wiring(tmp_path)
    store = job_store(load_settings(data_dir=tmp_path / "data"))
    job = store.create(JobSpec("olga", "policies", (), ("staff",), sync=True))
    cancelled = run(wiring, "jobs", "cancel", job.job_id)
    assert cancelled.exit_code == 0 and f"job {job.job_id}: cancelled" in cancelled.stdout
    missing = run(wiring, "jobs", "show", "nope")
    assert missing.exit_code == 1 and "no ingestion job nope" in missing.stderr
    store.close()
