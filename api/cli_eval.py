"""`coffre eval`: retrieval on BEIR-style datasets, answers on a question set."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from api.cli_common import DEMO_CORPUS, IngestBar, console, err, run_ingest, services_or_exit
from api.settings import SettingsError, load_settings
from rag.answering import Answer
from rag.catalogue import CatalogueError
from rag.retrieval import SearchMode

eval_app = typer.Typer(help="Measure retrieval on BEIR-style datasets, and answers on a "
                            "question set.", no_args_is_help=True)


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
            reused = ingest_corpus(services, dataset, IngestBar(progress, 1))
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


@eval_app.command("answers")
def eval_answers(
    questions_file: Annotated[Path, typer.Argument(help="Question set (JSON Lines).")],
    corpus: Annotated[Path, typer.Option(help="Folder of documents to ingest.")] = DEMO_CORPUS,
    models: Annotated[str | None, typer.Option(help="Comma-separated catalogue models.")] = None,
    details: Annotated[Path | None, typer.Option(help="Write every answer here (JSONL).")] = None,
) -> None:
    """Ask a question set through the normal path and score answers, citations, refusals."""
    import json

    from api.answer_eval import EvalError, evaluate_models, load_questions
    from api.wiring import build_generator

    services = services_or_exit()
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
    except (EvalError, CatalogueError) as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    run_ingest(services, [corpus])
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
