"""The everyday commands: ingest, search, ask, serve, and the demo."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress

from api.auditing import Channel, append, ask_record, interrupted_record, search_record
from api.cli.common import (
    DEMO_CORPUS,
    err,
    local_identity,
    open_services,
    out,
    progress_columns,
    run_ingest,
    wiring,
)
from api.generators import ensure_model
from api.wiring import Services
from indexes.reindex import reindex as run_reindex
from ingest.outcomes import FileStatus
from rag.answers import Answer, DraftText, Finished, Query, checked_question
from rag.generation import closing_stream
from rag.retrieval import SearchMode

DEMO_QUESTIONS = [
    "What is the maximum loan-to-value for a buy-to-let mortgage?",
    "When does the new SEPA cut-off time apply?",
    "Combien de jours de télétravail par semaine pour un temps plein ?",
]


def ingest(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Files or folders.")],
    groups: Annotated[str, typer.Option(help="Comma-separated access groups for documents "
                                             "without a NAME.acl.json or _acl.json.")] = "",
    keep_missing: Annotated[bool, typer.Option(
        "--keep-missing", help="Keep the documents of files gone from a folder (by default "
                               "they are retired: out of search, their versions on record)."
    )] = False,
) -> None:
    """Ingest files and folders as a recorded job (`coffre jobs`); unchanged files are
    skipped, and a folder's removed files retired. Exit 1 if any file failed."""
    services = open_services(ctx)
    report = run_ingest(services, paths, tuple(sorted({g for g in groups.split(",") if g})),
                        sync=not keep_missing)
    if report.count(FileStatus.FAILED):
        raise typer.Exit(1)


def reindex(ctx: typer.Context) -> None:
    """Re-embed every stored chunk with the embedder COFFRE_EMBEDDING_MODEL names, without
    parsing a file again. The old vectors serve until the new ones are all in place; an
    interrupted reindex, run again, keeps what it had embedded."""
    chosen = wiring(ctx)
    settings = chosen.settings()
    embedder = chosen.embedder(settings)
    with Progress(*progress_columns(), console=err(), transient=False) as progress:
        task = progress.add_task("chunks re-embedded", total=None)
        report = run_reindex(settings.data_dir / "index", embedder,
                             lambda done, total: progress.update(task, completed=done,
                                                                 total=total))
    out().print(f"{report.chunks} chunks now embedded by {report.model_to} (before: "
                f"{report.model_from or 'none'}); {report.embedded} embedded now, "
                f"{report.resumed} kept from an interrupted run", markup=False)


def search(
    ctx: typer.Context,
    query: str,
    top_k: Annotated[int, typer.Option("--top-k", "-k", min=1, max=100)] = 5,
    mode: Annotated[SearchMode | None, typer.Option(help="hybrid, vector or keyword")] = None,
) -> None:
    """Show the best-matching passages for a query."""
    services = open_services(ctx)
    retrieval = services.searcher.search(query, top_k, None, mode)
    append(services.audit, search_record(local_identity(), Channel.CLI, query, retrieval,
                                         services.embedder.model_id))
    console = out()
    if retrieval.search_query is not None:
        console.print(f"(searched translated: {retrieval.search_query})", style="dim",
                      markup=False, highlight=False)
    for rank, hit in enumerate(retrieval.hits, start=1):
        doc, chunk = hit.stored.document, hit.stored.chunk
        page = f", page {chunk.page}" if chunk.page else ""
        console.print(f"[bold]{rank}. {doc.title}{page}[/bold]  score {hit.score:.4f}  "
                      f"[dim]{chunk.chunk_id}[/dim]")
        console.print(f"   {chunk.text[:300]}", markup=False)


def checked_note(streamed: str, answer: Answer) -> str | None:
    """What to print after the streamed draft when the checks changed or withdrew it.

    The draft is shown as the model writes it; the checks against the sources come after
    (a figure corrected to its table row, an echoed instruction dropped, or no answer).
    """
    if re.sub(r"\s+", "", streamed) == re.sub(r"\s+", "", answer.text):
        return None
    if answer.refused:
        return f"Not verified against the sources: {answer.text}"
    return f"Checked against the sources: {answer.text}"


def _stream_answer(services: Services, question: str, console: Console) -> Answer:
    """Print the draft as it comes; the finished answer. Ctrl-C is audited, exit 130."""
    answer: Answer | None = None
    streamed = ""
    try:
        with closing_stream(services.answerer.stream(Query(question))) as events:
            for event in events:
                match event:
                    case DraftText(text=text):
                        streamed += text
                        console.print(text, end="", markup=False, highlight=False)
                    case Finished(answer=finished):
                        answer = finished
    except KeyboardInterrupt:
        # Ctrl-C: the stream is closed (the model freed) on the way out of the `with`.
        console.print()
        append(services.audit, interrupted_record(
            local_identity(), Channel.CLI, question, streamed, services.provenance()))
        err().print("[yellow]Interrupted: the answer was not finished (audited as "
                    "interrupted).[/yellow]")
        raise typer.Exit(130) from None
    console.print()
    assert answer is not None, "an answer stream ends with Finished"
    append(services.audit, ask_record(local_identity(), Channel.CLI, answer,
                                      services.provenance()))
    note = checked_note(streamed, answer)
    if note:
        console.print(note, style="yellow", markup=False, highlight=False)
    return answer


def print_answer(services: Services, question: str) -> Answer:
    """Answer `question`, streaming the draft, then print what the checks made of it and
    the sources; every answer goes on the audit trail (channel `cli`)."""
    console = out()
    answer = _stream_answer(services, question, console)
    if answer.refused:
        console.print("[dim](no relevant source: nothing cited)[/dim]")
    for citation in answer.citations:
        page = f", page {citation.page}" if citation.page else ""
        console.print(f"  [{citation.number}] {citation.title}{page} ({citation.origin}): "
                      f"\"{citation.quote[:160]}\"", markup=False, highlight=False)
    return answer


def ask(ctx: typer.Context, question: str) -> None:
    """Answer a question from the documents, streaming, then list the sources."""
    asked = checked_question(question, "QUESTION")  # before any model is loaded
    print_answer(open_services(ctx), asked)


def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Address (default COFFRE_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default COFFRE_PORT).")] = None,
) -> None:
    """Start the HTTP API."""
    run_server(open_services(ctx), host, port)


def run_server(services: Services, host: str | None, port: int | None, key: str = "KEY") -> None:
    """Print where the API listens and a curl line to try, then serve until stopped."""
    import uvicorn

    from api.http.app import create_app

    # A server without a usable answer model must not start: say so now, in one line.
    ensure_model(services.generator)
    host = host or services.settings.host
    port = port or services.settings.port
    console = out()
    console.print(f"Coffre API on http://{host}:{port}  (OpenAPI page: http://{host}:{port}/docs)")
    console.print(
        f"Try: curl -s http://{host}:{port}/v1/ask -H 'content-type: application/json' "
        f"-H 'authorization: Bearer {key}' "
        f"-d '{{\"question\": \"{DEMO_QUESTIONS[0]}\"}}'", markup=False, highlight=False
    )
    uvicorn.run(create_app(services), host=host, port=port, log_level="info")


def demo(
    ctx: typer.Context,
    corpus: Annotated[Path, typer.Option(help="Folder to ingest.")] = DEMO_CORPUS,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Stop after the answers.")] = False,
) -> None:
    """Ingest the demo corpus, answer sample questions, then start the API."""
    services = open_services(ctx)
    ensure_model(services.generator)  # the demo answers: no model, no point ingesting
    run_ingest(services, [corpus])
    for question in DEMO_QUESTIONS:
        out().rule(question)
        print_answer(services, question)
    if not no_serve:
        key, _ = services.keys.create("demo", ["staff"], "employee")
        out().print(f"Demo API key (employee, group staff): {key}", markup=False)
        run_server(services, None, None, key)
