"""The `coffre` command line: ingest, search, ask, serve, and the demo."""

from __future__ import annotations

import getpass
import re
import sys
from pathlib import Path
from typing import Annotated

import typer

from api.auditing import ask_record, interrupted_record, search_record
from api.auth import Identity
from api.cli_admin import audit_app, keys_app, models_app
from api.cli_common import DEMO_CORPUS, console, err, run_ingest, services_or_exit
from api.cli_eval import eval_app
from api.wiring import Services
from indexes.errors import CoffreError
from rag.answering import Answer
from rag.generation import closing_stream
from rag.retrieval import SearchMode

app = typer.Typer(help="Coffre: answers from the bank's own documents, with cited sources.",
                  no_args_is_help=True, add_completion=False)
app.add_typer(eval_app, name="eval")
app.add_typer(models_app, name="models")
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")

DEMO_QUESTIONS = [
    "What is the maximum loan-to-value for a buy-to-let mortgage?",
    "When does the new SEPA cut-off time apply?",
    "Combien de jours de télétravail par semaine pour un temps plein ?",
]


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders.")],
    groups: Annotated[str, typer.Option(help="Comma-separated access groups for documents "
                                             "without a NAME.acl.json or _acl.json.")] = "",
) -> None:
    """Ingest files and folders; unchanged files are skipped. Exit 1 if any file failed."""
    services = services_or_exit()
    report = run_ingest(services, paths, tuple(sorted({g for g in groups.split(",") if g})))
    if report.count("failed"):
        raise typer.Exit(1)


@app.command()
def search(
    query: str,
    top_k: Annotated[int, typer.Option("--top-k", "-k", min=1, max=100)] = 5,
    mode: Annotated[SearchMode | None, typer.Option(help="hybrid, vector or keyword")] = None,
) -> None:
    """Show the best-matching passages for a query."""
    services = services_or_exit()
    hits = services.retriever.search(query, top_k, None, mode)
    services.audit.append(_local_identity().user,
                          search_record(services, _local_identity(), "cli", query, hits))
    for rank, hit in enumerate(hits, start=1):
        doc, chunk = hit.stored.document, hit.stored.chunk
        page = f", page {chunk.page}" if chunk.page else ""
        console.print(f"[bold]{rank}. {doc.title}{page}[/bold]  score {hit.score:.4f}  "
                      f"[dim]{chunk.chunk_id}[/dim]")
        console.print(f"   {chunk.text[:300]}", markup=False)


def _local_identity() -> Identity:
    """The operator at the server's console: unrestricted, recorded by OS user name."""
    return Identity(f"local:{getpass.getuser()}", frozenset(), frozenset({"admin"}), "cli")


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


def _print_answer(services: Services, question: str) -> Answer:
    answer: Answer | None = None
    streamed = ""
    try:
        with closing_stream(services.answerer.stream(question)) as events:
            for event in events:
                if isinstance(event, Answer):
                    answer = event
                else:
                    streamed += event
                    console.print(event, end="", markup=False, highlight=False)
    except KeyboardInterrupt:
        # Ctrl-C: the stream is closed (the model freed) on the way out of the `with`.
        console.print()
        services.audit.append(_local_identity().user, interrupted_record(
            services, _local_identity(), "cli", question, streamed))
        err.print("[yellow]Interrupted: the answer was not finished (audited as "
                  "interrupted).[/yellow]")
        raise typer.Exit(130) from None
    console.print()
    assert answer is not None
    services.audit.append(_local_identity().user,
                          ask_record(services, _local_identity(), "cli", answer))
    note = checked_note(streamed, answer)
    if note:
        console.print(note, style="yellow", markup=False, highlight=False)
    if answer.refused:
        console.print("[dim](no relevant source: nothing cited)[/dim]")
    for citation in answer.citations:
        page = f", page {citation.page}" if citation.page else ""
        console.print(f"  [{citation.number}] {citation.title}{page} ({citation.origin}): "
                      f"\"{citation.quote[:160]}\"", markup=False, highlight=False)
    return answer


@app.command()
def ask(question: str) -> None:
    """Answer a question from the documents, streaming, then list the sources."""
    _print_answer(services_or_exit(), question)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address (default COFFRE_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default COFFRE_PORT).")] = None,
) -> None:
    """Start the HTTP API."""
    _serve(services_or_exit(), host, port)


def _serve(services: Services, host: str | None, port: int | None, key: str = "KEY") -> None:
    import uvicorn

    from api.app import create_app

    host = host or services.settings.host
    port = port or services.settings.port
    console.print(f"Coffre API on http://{host}:{port}  (OpenAPI page: http://{host}:{port}/docs)")
    console.print(
        f"Try: curl -s http://{host}:{port}/v1/ask -H 'content-type: application/json' "
        f"-H 'authorization: Bearer {key}' "
        f"-d '{{\"question\": \"{DEMO_QUESTIONS[0]}\"}}'", markup=False, highlight=False
    )
    uvicorn.run(create_app(services), host=host, port=port, log_level="info")


@app.command()
def demo(
    corpus: Annotated[Path, typer.Option(help="Folder to ingest.")] = DEMO_CORPUS,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Stop after the answers.")] = False,
) -> None:
    """Ingest the demo corpus, answer sample questions, then start the API."""
    services = services_or_exit()
    run_ingest(services, [corpus])
    for question in DEMO_QUESTIONS:
        console.rule(question)
        _print_answer(services, question)
    if not no_serve:
        key, _ = services.keys.create("demo", ["staff"], "employee")
        console.print(f"Demo API key (employee, group staff): {key}", markup=False)
        _serve(services, None, None, key)


def main() -> None:
    """Entry point of the `coffre` script."""
    try:
        app()
    except CoffreError as exc:
        # The one mapping of the error tree (indexes.errors) to the shell: message, exit code.
        err.print(str(exc), style="red", markup=False, highlight=False)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
