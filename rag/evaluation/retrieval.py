"""Retrieval evaluation: every query of a dataset searched, the run scored like score.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rag.evaluation.datasets import Dataset
from rag.evaluation.metrics import Qrels, evaluate
from rag.retrieval import Retriever, SearchMode

DOC_DEPTH = 100  # documents written per query in the run file

RunFile = dict[str, list[tuple[str, float]]]  # query id -> [(corpus id, score)], best first


def retrieve(
    retriever: Retriever,
    dataset: Dataset,
    mode: SearchMode | None,
    on_query: Callable[[], None] | None = None,
) -> RunFile:
    """Ranked corpus ids for every query: chunk hits folded into their record, best first."""
    # Records are stored as "<corpus path>#<record id>"; ids may hold '#' themselves.
    prefix = len(str(dataset.corpus.resolve())) + 1
    run: RunFile = {}
    for query_id, text in dataset.queries:
        hits = retriever.search(text, DOC_DEPTH, None, mode)
        docs: dict[str, float] = {}
        for hit in hits:
            corpus_id = hit.stored.document.source_path[prefix:]
            docs.setdefault(corpus_id, hit.score)
        run[query_id] = list(docs.items())
        if on_query:
            on_query()
    return run


def write_run(run: RunFile, path: Path) -> None:
    """A run file in score.py's format; scores written exactly (repr) so ties survive."""
    with path.open("w", encoding="utf-8") as handle:
        handle.write("query-id\tcorpus-id\trank\tscore\n")
        for query_id, docs in run.items():
            for rank, (doc, score) in enumerate(docs, start=1):
                handle.write(f"{query_id}\t{doc}\t{rank}\t{score!r}\n")


def score(dataset: Dataset, run: RunFile) -> dict[str, float]:
    """nDCG@10, Recall@10, MAP@10, MRR@10 over the dataset's judged queries."""
    qrels: Qrels = dataset.qrels
    return evaluate(qrels, run, 10)
