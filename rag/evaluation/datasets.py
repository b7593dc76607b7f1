"""BEIR-style retrieval datasets: a folder with corpus.jsonl, queries.jsonl and qrels.tsv."""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass
from pathlib import Path

from rag.evaluation.errors import EvalError

FILES = ("corpus.jsonl", "queries.jsonl", "qrels.tsv")


@dataclass(frozen=True)
class Dataset:
    """A BEIR-style folder: the corpus file, the queries and their graded relevant docs."""

    name: str
    corpus: Path
    queries: list[tuple[str, str]]
    qrels: dict[str, dict[str, int]]


def _queries(path: Path) -> list[tuple[str, str]]:
    """(id, text) of every query; a bad line raises EvalError naming it."""
    queries = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                queries.append((str(record["_id"]), str(record["text"])))
            except (ValueError, KeyError) as exc:
                raise EvalError(f"{path}: line {number}: {exc}") from exc
    return queries


def _qrels(path: Path) -> dict[str, dict[str, int]]:
    """query id -> {doc id: grade}, positive grades only (the header row skipped)."""
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8") as handle:
        rows = csv.reader(handle, delimiter="\t")
        next(rows, None)
        for row in rows:
            if len(row) >= 3 and int(row[2]) > 0:
                qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    return qrels


def load_dataset(folder: Path) -> Dataset:
    """Read queries and qrels; the corpus is left to the ingestion job."""
    paths = {name: folder / name for name in FILES}
    for name, path in paths.items():
        if not path.is_file():
            raise EvalError(f"{folder}: missing {name} (expected a BEIR-style folder)")
    return Dataset(folder.resolve().name, paths["corpus.jsonl"],
                   _queries(paths["queries.jsonl"]), _qrels(paths["qrels.tsv"]))


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
