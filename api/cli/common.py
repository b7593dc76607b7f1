"""What every `coffre` command shares: output consoles, the settings and services it runs
on (or the test's fakes), the error mapping, and ingestion with a progress bar and summary."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from api.auth import Identity
from api.embedder_wiring import build_embedder
from api.roles import Role
from api.settings import Settings, load_settings
from api.wiring import Services, build_services
from indexes.embedder import Embedder
from ingest.job_store import JobSpec, JobState
from ingest.outcomes import FileOutcome, FileStatus, IngestReport
from ingest.sources import discover

DEMO_CORPUS = Path(__file__).resolve().parents[2] / "bench" / "demo" / "corpus"


def out() -> Console:
    """Standard output; tables stay readable in a file or a pipe (no terminal width there)."""
    return Console(width=None if sys.stdout.isatty() else 160)


def err() -> Console:
    """Standard error: progress bars, warnings and error messages."""
    return Console(stderr=True)


def fail(message: str, code: int) -> typer.Exit:
    """Print `message` as one red line on standard error; the Exit to raise with `code`."""
    err().print(message, style="red", markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(code)


@contextmanager
def exiting(code: int, *errors: type[BaseException]) -> Iterator[None]:
    """Turn `errors` into a one-line message and exit `code` (where a command's exit code
    differs from the error's own: `models install` exits 1 on any failure)."""
    try:
        yield
    except errors as exc:
        raise fail(str(exc), code) from exc


@dataclass(frozen=True)
class Wiring:
    """Where the commands get their settings and services; tests pass their fakes here
    (`CliRunner().invoke(app, args, obj=Wiring(services=...))`)."""

    settings: Callable[[], Settings] = load_settings
    services: Callable[[Settings], Services] = build_services
    embedder: Callable[[Settings], Embedder] = build_embedder  # `coffre reindex` alone


def wiring(ctx: typer.Context) -> Wiring:
    """The wiring of this invocation: the one given as the context's object, else the real."""
    found: Any = ctx.obj
    return found if isinstance(found, Wiring) else Wiring()


def open_settings(ctx: typer.Context) -> Settings:
    """The settings (SettingsError, naming the wrong value, reaches the error mapping)."""
    return wiring(ctx).settings()


def open_services(ctx: typer.Context) -> Services:
    """Everything wired from the settings; any CoffreError reaches the error mapping."""
    chosen = wiring(ctx)
    return chosen.services(chosen.settings())


def local_identity() -> Identity:
    """The operator at the server's console: unrestricted, recorded by OS user name."""
    return Identity(f"local:{getpass.getuser()}", frozenset(), frozenset({Role.ADMIN.value}),
                    "cli")


class IngestBar:
    """Progress bar over files and chunks, fed by the ingestion job."""

    def __init__(self, progress: Progress, files: int) -> None:
        self.progress = progress
        self.files = progress.add_task("files", total=files)
        self.chunks = progress.add_task("chunks stored", total=None)

    def file_done(self, outcome: FileOutcome) -> None:
        """One more file looked at."""
        self.progress.advance(self.files)

    def chunks_done(self, count: int) -> None:
        """More chunks written."""
        self.progress.advance(self.chunks, count)


def progress_columns() -> tuple[Any, ...]:
    """The columns of every progress bar."""
    return (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn())


def _summary(report: IngestReport) -> Table:
    table = Table(title="Ingestion summary")
    for column in ("file", "status", "documents", "chunks", "reason"):
        table.add_column(column)
    for o in report.outcomes:
        colour = {FileStatus.OK: "green", FileStatus.UNCHANGED: "blue",
                  FileStatus.FAILED: "red"}.get(o.status, "yellow")
        table.add_row(o.path, f"[{colour}]{o.status}[/{colour}]", str(o.documents),
                      str(o.chunks), o.reason)
    return table


def run_ingest(
    services: Services, paths: list[Path], groups: tuple[str, ...] = (), *, sync: bool = True
) -> IngestReport:
    """Ingest as a recorded job (`coffre jobs`), in the foreground with a progress bar, then
    print the summary table; the report is returned. With `sync`, the documents of a folder
    whose files left it are retired."""
    files, _ = discover(paths)
    console = out()
    spec = JobSpec(local_identity().user, "", tuple(str(p.resolve()) for p in paths), groups,
                   sync=sync)
    job = services.jobs.claim(services.jobs.create(spec).job_id)
    with Progress(*progress_columns(), console=err(), transient=False) as progress:
        job = services.job_runner.run(job, IngestBar(progress, len(files)))
    report = IngestReport(list(job.files))
    console.print(_summary(report))
    if job.state is not JobState.DONE:
        raise fail(f"job {job.job_id} {job.state}: {job.note}", 1)
    console.print(", ".join(f"{status} {report.count(status)}" for status in FileStatus)
                  + f"; {report.chunks} chunks written")
    open_to_none = [o.path for o in report.outcomes
                    if o.status is FileStatus.OK and not o.groups]
    if open_to_none:
        console.print(f"[yellow]{len(open_to_none)} document(s) have no access groups: only "
                      "admins can read them until a NAME.acl.json or _acl.json gives some[/yellow]")
    return report
