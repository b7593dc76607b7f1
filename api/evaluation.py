"""`coffre eval retrieval`: BEIR-style datasets through the normal ingestion and retrieval.

The corpus is ingested by the ordinary ingestion job into a throwaway index under
`<data dir>/eval/`, keyed by the corpus content, the embedding model and the chunk settings,
so a second run over the same data reuses the embedded corpus and costs only the queries.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from api.errors import EvalError
from api.settings import Settings
from api.wiring import Services, build_embedder, build_services
from indexes.records import file_sha256
from ingest.jobs import IngestProgress
from rag.metrics import Qrels, evaluate
from rag.retrieval import SearchMode

DOC_DEPTH = 100  # documents written per query in the run file


@dataclass(frozen=True)
class Dataset:
    """A BEIR-style folder: corpus.jsonl, queries.jsonl, qrels.tsv."""

    name: str
    corpus: Path
    queries: list[tuple[str, str]]
    qrels: dict[str, dict[str, int]]


def load_dataset(folder: Path) -> Dataset:
    """Read queries and qrels; the corpus is left to the ingestion job."""
    paths = {name: folder / name for name in ("corpus.jsonl", "queries.jsonl", "qrels.tsv")}
    for name, path in paths.items():
        if not path.is_file():
            raise EvalError(f"{folder}: missing {name} (expected a BEIR-style folder)")
    queries = []
    with paths["queries.jsonl"].open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    record = json.loads(line)
                    queries.append((str(record["_id"]), str(record["text"])))
                except (ValueError, KeyError) as exc:
                    raise EvalError(f"{paths['queries.jsonl']}: line {number}: {exc}") from exc
    qrels: dict[str, dict[str, int]] = {}
    with paths["qrels.tsv"].open(encoding="utf-8") as handle:
        rows = csv.reader(handle, delimiter="\t")
        next(rows, None)
        for row in rows:
            if len(row) >= 3 and int(row[2]) > 0:
                qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    return Dataset(folder.resolve().name, paths["corpus.jsonl"], queries, qrels)


def sample(dataset: Dataset, limit: int | None, seed: int = 13) -> Dataset:
    """A fixed, seeded sample of the judged queries (all of them when limit is None)."""
    judged = [q for q in dataset.queries if q[0] in dataset.qrels]
    if limit is None or limit >= len(judged):
        chosen = judged
    else:
        chosen = sorted(random.Random(seed).sample(judged, limit))
    ids = {q[0] for q in chosen}
    qrels = {q: r for q, r in dataset.qrels.items() if q in ids}
    return Dataset(dataset.name, dataset.corpus, chosen, qrels)


def eval_services(settings: Settings, dataset: Dataset) -> Services:
    """Services over the throwaway index of this corpus, model and chunking."""
    # Only the model's identity is needed for the key (a fingerprint, no model load).
    key = hashlib.sha256(
        "\x1f".join([
            file_sha256(dataset.corpus), build_embedder(settings).model_id,
            str(settings.chunk_size), str(settings.chunk_overlap),
        ]).encode()
    ).hexdigest()[:16]
    folder = settings.data_dir / "eval" / f"{dataset.name}-{key}"
    return build_services(settings.model_copy(update={"data_dir": folder}))


def ingest_corpus(services: Services, dataset: Dataset, progress: IngestProgress | None) -> bool:
    """Ingest the corpus unless this index already holds it; True when it was reused."""
    marker = services.settings.data_dir / "complete.json"
    if marker.is_file():
        return True
    report = services.ingester.run([dataset.corpus], progress)
    failed = [o for o in report.outcomes if o.status == "failed"]
    if failed:
        raise EvalError(f"{failed[0].path}: {failed[0].reason}")
    marker.write_text(json.dumps({"corpus": str(dataset.corpus), "chunks": report.chunks}))
    return False


def retrieve(
    services: Services,
    dataset: Dataset,
    mode: SearchMode | None,
    on_query: Callable[[], None] | None = None,
) -> dict[str, list[tuple[str, float]]]:
    """Ranked corpus ids for every query: chunk hits folded into their record, best first."""
    # Records are stored as "<corpus path>#<record id>"; ids may hold '#' themselves.
    prefix = len(str(dataset.corpus.resolve())) + 1
    run: dict[str, list[tuple[str, float]]] = {}
    for query_id, text in dataset.queries:
        hits = services.retriever.search(text, DOC_DEPTH, None, mode)
        docs: dict[str, float] = {}
        for hit in hits:
            corpus_id = hit.stored.document.source_path[prefix:]
            docs.setdefault(corpus_id, hit.score)
        run[query_id] = list(docs.items())
        if on_query:
            on_query()
    return run


def write_run(run: dict[str, list[tuple[str, float]]], path: Path) -> None:
    """A run file in score.py's format; scores written exactly (repr) so ties survive."""
    with path.open("w", encoding="utf-8") as handle:
        handle.write("query-id\tcorpus-id\trank\tscore\n")
        for query_id, docs in run.items():
            for rank, (doc, score) in enumerate(docs, start=1):
                handle.write(f"{query_id}\t{doc}\t{rank}\t{score!r}\n")


def score(dataset: Dataset, run: dict[str, list[tuple[str, float]]]) -> dict[str, float]:
    """nDCG@10, Recall@10, MAP@10, MRR@10 over the dataset's judged queries."""
    qrels: Qrels = dataset.qrels
    return evaluate(qrels, run, 10)
