"""`coffre jobs`: the ingestion jobs of this data directory, the server's and the CLI's."""

from __future__ import annotations

from contextlib import closing
from typing import Annotated

import typer
from rich.table import Table

from api.cli.common import fail, open_settings, out
from api.ingest_wiring import job_store
from ingest.job_store import Job, JobStore

jobs_app = typer.Typer(help="Ingestion jobs: list, show, cancel.", no_args_is_help=True)


def _store(ctx: typer.Context) -> closing[JobStore]:
    """The jobs of the settings' data directory, closed when the command is done."""
    return closing(job_store(open_settings(ctx)))


def _found(job: Job | None, job_id: str) -> Job:
    if job is None:
        raise fail(f"no ingestion job {job_id}; `coffre jobs list` shows them", 1)
    return job


def _progress(job: Job) -> str:
    total = f"/{job.files_total}" if job.files_total else ""
    return f"{job.files_done}{total}"


@jobs_app.command("list")
def jobs_list(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="How many, newest first.")] = 20,
) -> None:
    """The newest jobs: state, files done, chunks written, who asked and when."""
    table = Table(title="Ingestion jobs")
    for column in ("job", "state", "files", "chunks", "source or files", "by", "created"):
        table.add_column(column)
    with _store(ctx) as store:
        jobs = store.jobs(limit=limit)
    for job in jobs:
        what = job.spec.source or f"{len(job.spec.paths)} path(s)"
        table.add_row(job.job_id, job.state.value, _progress(job), str(job.chunks), what,
                      job.spec.created_by, job.created_at[:19])
    out().print(table)


@jobs_app.command("show")
def jobs_show(ctx: typer.Context, job_id: str) -> None:
    """One job: its state, timings, and every file's outcome with its reason."""
    with _store(ctx) as store:
        job = _found(store.get(job_id), job_id)
    console = out()
    console.print(f"job {job.job_id}: {job.state.value}, files {_progress(job)}, chunks "
                  f"{job.chunks}; created {job.created_at} by {job.spec.created_by}, started "
                  f"{job.started_at or '-'}, finished {job.finished_at or '-'}", markup=False)
    if job.note:
        console.print(job.note, markup=False)
    table = Table()
    for column in ("file", "status", "chunks", "reason"):
        table.add_column(column)
    for outcome in job.files:
        table.add_row(outcome.path, outcome.status.value, str(outcome.chunks), outcome.reason)
    console.print(table)


@jobs_app.command("cancel")
def jobs_cancel(ctx: typer.Context, job_id: str) -> None:
    """Cancel a job: a queued one at once, a running one after its current file."""
    with _store(ctx) as store:
        job = _found(store.cancel(job_id), job_id)
    if job.state.ended:
        out().print(f"job {job_id}: {job.state.value}", markup=False)
    else:
        out().print(f"job {job_id}: stops after its current file", markup=False)
