"""`coffre eval`: retrieval on BEIR-style datasets, answers on a question set."""

from __future__ import annotations

import json
from contextlib import nullcontext
from pathlib import Path
from typing import IO, Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from api.cli.common import (
    DEMO_CORPUS,
    IngestBar,
    err,
    exiting,
    open_services,
    open_settings,
    out,
    progress_columns,
    run_ingest,
    wiring,
)
from api.cli.eval_index import eval_services, ingest_corpus
from api.settings import Settings
from api.wiring import local_generator
from rag.answers import Answer
from rag.catalogue import CatalogueError
from rag.evaluation.answers import OnAnswer, Question, evaluate_models, load_questions
from rag.evaluation.datasets import load_dataset
from rag.evaluation.datasets import sample as sample_queries
from rag.evaluation.errors import EvalError
from rag.evaluation.retrieval import retrieve, score, write_run
from rag.generation import Generator
from rag.retrieval import SearchMode

eval_app = typer.Typer(help="Measure retrieval on BEIR-style datasets, and answers on a "
                            "question set.", no_args_is_help=True)

METRICS = ("ndcg@10", "recall@10", "map@10", "mrr@10")


@eval_app.command("retrieval")
def eval_retrieval(
    ctx: typer.Context,
    dataset_dir: Annotated[Path, typer.Argument(help="Folder with corpus.jsonl, queries.jsonl, "
                                                     "qrels.tsv.")],
    limit: Annotated[int | None, typer.Option(help="Seeded sample of N queries.")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the run file here.")]
    = None,
    mode: Annotated[SearchMode | None, typer.Option(help="hybrid, vector or keyword")] = None,
) -> None:
    """Ingest a corpus into a throwaway index, run every query, print the four metrics."""
    dataset = sample_queries(load_dataset(dataset_dir), limit)
    services = eval_services(open_settings(ctx), dataset, wiring(ctx).services)
    # A corpus that fails to ingest exits 1, as it always has (its message after the bar).
    with exiting(1, EvalError), Progress(*progress_columns(), console=err()) as progress:
        reused = ingest_corpus(services, dataset, IngestBar(progress, 1))
        task = progress.add_task("queries", total=len(dataset.queries))
        run = retrieve(services.retriever, dataset, mode, lambda: progress.advance(task))
    if out_file is not None:
        write_run(run, out_file)
    metrics = score(dataset, run)
    used_mode = mode or services.settings.search_mode
    console = out()
    console.print(f"{dataset.name}: {len(dataset.queries)} queries, corpus "
                  f"{'reused' if reused else 'ingested'}, mode {used_mode}")
    for name in METRICS:
        console.print(f"{name}\t{metrics[name]}")
    services.close()


def _generators(settings: Settings, default: Generator, models: str | None
                ) -> dict[str, Generator]:
    """The answer models to compare: the named catalogue models, else the configured one."""
    if not models:
        return {default.model_id: default}
    # A named model that is not installed stops the run before the corpus is ingested, with
    # exit 2 as it always has (the configured model, missing, exits 3 like everywhere). A
    # catalogue model is an in-process one, whatever COFFRE_GENERATOR_URLS says.
    with exiting(2, CatalogueError):
        return {name: local_generator(settings.model_copy(update={"llm": name}))
                for name in models.split(",")}


def _details_writer(log: IO[str] | None) -> OnAnswer:
    def on_answer(model: str, question: Question, answer: Answer) -> None:
        """One answer as a JSON line, when a details file was asked for."""
        if log:
            log.write(json.dumps({"model": model, "id": question.id,
                                  "answer": answer.text, "refused": answer.refused,
                                  "refusal_reason": answer.refusal_reason,
                                  "search_query": answer.search_query,
                                  "citations": [(c.source_path, c.page) for c in answer.citations],
                                  "timings": answer.timings.as_dict()}) + "\n")
    return on_answer


@eval_app.command("answers")
def eval_answers(
    ctx: typer.Context,
    questions_file: Annotated[Path, typer.Argument(help="Question set (JSON Lines).")],
    corpus: Annotated[Path, typer.Option(help="Folder of documents to ingest.")] = DEMO_CORPUS,
    models: Annotated[str | None, typer.Option(help="Comma-separated catalogue models.")] = None,
    details: Annotated[Path | None, typer.Option(help="Write every answer here (JSONL).")] = None,
) -> None:
    """Ask a question set through the normal path and score answers, citations, refusals."""
    services = open_services(ctx)
    questions = load_questions(questions_file)
    generators = _generators(services.settings, services.generator, models)
    run_ingest(services, [corpus])
    with details.open("w") if details else nullcontext() as log:
        scores = evaluate_models(services.answerer, questions, generators,
                                 _details_writer(log))
    table = Table(title=f"Answer evaluation: {len(questions)} questions")
    rows = [s.row() for s in scores]
    for column in rows[0]:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    out().print(table)
