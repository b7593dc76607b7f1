"""What every `coffre` command shares: output consoles, settings and services or a clean exit,
and ingestion with a progress bar and a summary table."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from api.settings import Settings, SettingsError, load_settings
from api.wiring import Services, build_services
from indexes.errors import IndexStoreError, ModelMismatchError
from ingest.jobs import FileOutcome, IngestReport, discover
from rag.catalogue import CatalogueError
from rag.generation import GenerationError

# Tables stay readable when the output goes to a file or a pipe (no terminal width there).
console = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)

DEMO_CORPUS = Path(__file__).resolve().parents[1] / "bench" / "demo" / "corpus"


def settings_or_exit() -> Settings:
    """The settings, or exit 2 with the message naming the wrong value."""
    try:
        return load_settings()
    except SettingsError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc


def services_or_exit() -> Services:
    """Everything wired from the settings, or exit 2 or 3 with a message saying what to do."""
    try:
        return build_services(load_settings())
    except SettingsError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    except ModelMismatchError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(3) from exc
    except (IndexStoreError, GenerationError, CatalogueError) as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(3) from exc


class IngestBar:
    """Progress bar over files and chunks, fed by the ingestion job."""

    def __init__(self, progress: Progress, files: int) -> None:
        self.progress = progress
        self.files = progress.add_task("files", total=files)
        self.chunks = progress.add_task("chunks stored", total=None)

    def file_done(self, outcome: FileOutcome) -> None:
        self.progress.advance(self.files)

    def chunks_done(self, count: int) -> None:
        self.progress.advance(self.chunks, count)


def run_ingest(
    services: Services, paths: list[Path], groups: tuple[str, ...] | None = None
) -> IngestReport:
    """Ingest with a progress bar, then print the summary table; the report is returned."""
    files, _ = discover(paths)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=err, transient=False) as progress:
        report = services.ingester.run(paths, IngestBar(progress, len(files)), groups)
    table = Table(title="Ingestion summary")
    for column in ("file", "status", "documents", "chunks", "reason"):
        table.add_column(column)
    for o in report.outcomes:
        colour = {"ok": "green", "unchanged": "blue", "failed": "red"}.get(o.status, "yellow")
        table.add_row(o.path, f"[{colour}]{o.status}[/{colour}]", str(o.documents),
                      str(o.chunks), o.reason)
    console.print(table)
    console.print(
        f"ok {report.count('ok')}, unchanged {report.count('unchanged')}, "
        f"failed {report.count('failed')}, unsupported {report.count('unsupported')}; "
        f"{report.chunks} chunks written"
    )
    open_to_none = [o.path for o in report.outcomes if o.status == "ok" and not o.groups]
    if open_to_none:
        console.print(f"[yellow]{len(open_to_none)} document(s) have no access groups: only "
                      "admins can read them until a NAME.acl.json or _acl.json gives some[/yellow]")
    return report
