"""`coffre eval retrieval` end to end on a small dataset, and the cross-encoder reranker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rag.evaluation.datasets import load_dataset, sample
from rag.generation import default_llm_path
from tests.integration.conftest import SHARED, require_shared

pytestmark = pytest.mark.integration

DOCS = {
    "d1": "The maximum loan-to-value for a buy-to-let mortgage is seventy percent.",
    "d2": "Branches open at nine in the morning and close at five in the afternoon.",
    "d3": "Suspicious transactions are reported to the money laundering reporting officer.",
    "d4": "Le télétravail est limité à deux jours par semaine pour un temps plein.",
    "d5": "Wire transfers received after the cut-off time are executed the next day.",
    "d6": "Passwords must be fourteen characters long and changed every 180 days.",
}
QUERIES = {
    "q1": ("What LTV applies to buy to let loans?", "d1"),
    "q2": ("When do branches open?", "d2"),
    "q3": ("Who receives suspicious activity reports?", "d3"),
    "q4": ("Combien de jours de télétravail par semaine ?", "d4"),
    "q5": ("How long must a password be?", "d6"),
}


def _dataset(folder: Path) -> Path:
    folder.mkdir()
    (folder / "corpus.jsonl").write_text("".join(
        json.dumps({"_id": doc_id, "title": "", "text": text}) + "\n"
        for doc_id, text in DOCS.items()
    ))
    (folder / "queries.jsonl").write_text("".join(
        json.dumps({"_id": qid, "text": text}) + "\n" for qid, (text, _) in QUERIES.items()
    ))
    (folder / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(
        f"{qid}\t{doc}\t1\n" for qid, (_, doc) in QUERIES.items()
    ))
    return folder


def _eval(dataset: Path, data_dir: Path, *args: str) -> str:
    env = {**os.environ, "COFFRE_DATA_DIR": str(data_dir),
           "COFFRE_LLM_MODEL": str(default_llm_path())}
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", "eval", "retrieval", str(dataset), *args],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _metrics(output: str) -> dict[str, float]:
    return {
        line.split()[0]: float(line.split()[1])
        for line in output.splitlines()
        if line.split() and line.split()[0] in {"ndcg@10", "recall@10", "map@10", "mrr@10"}
    }


def test_eval_command_matches_score_py_and_reuses_the_corpus(tmp_path: Path) -> None:
    dataset = _dataset(tmp_path / "toy")
    run_file = tmp_path / "run.tsv"
    first = _eval(dataset, tmp_path / "data", "--limit", "4", "--out", str(run_file))
    assert "corpus ingested" in first and "4 queries" in first
    printed = _metrics(first)
    assert printed["recall@10"] == 1.0  # six documents: every gold one is in the top 10
    assert printed["mrr@10"] > 0.6
    lines = run_file.read_text().splitlines()
    assert lines[0] == "query-id\tcorpus-id\trank\tscore"
    assert {line.split("\t")[0] for line in lines[1:]} == {q for q, _ in sample(
        load_dataset(dataset), 4).queries}
    scorer = SHARED / "eval" / "score.py"
    if scorer.is_file():
        referee = subprocess.run(
            [sys.executable, str(scorer), str(dataset / "qrels.tsv"), str(run_file), "--json"],
            capture_output=True, text=True, check=True,
        )
        reference = json.loads(referee.stdout)
        # score.py averages over every judged query; ours over the sampled ones.
        for name, value in printed.items():
            assert reference[name] == pytest.approx(value * 4 / 5, abs=1e-4)
    second = _eval(dataset, tmp_path / "data", "--limit", "4")
    assert "corpus reused" in second
    assert _metrics(second) == printed


def test_limit_draws_the_same_seeded_sample(tmp_path: Path) -> None:
    dataset = load_dataset(_dataset(tmp_path / "toy"))
    assert sample(dataset, 3).queries == sample(dataset, 3).queries
    assert len(sample(dataset, 3).qrels) == 3
    assert sample(dataset, None).queries == dataset.queries


def test_eval_on_a_shared_benchmark_sample(tmp_path: Path) -> None:
    scifact = require_shared(SHARED / "eval" / "scifact")
    # A small corpus slice keeps the run short while going through the real files' format.
    subset = tmp_path / "scifact-slice"
    subset.mkdir()
    lines = {name: (scifact / name).read_text(encoding="utf-8").splitlines()
             for name in ("queries.jsonl", "qrels.tsv", "corpus.jsonl")}
    queries = [json.loads(line) for line in lines["queries.jsonl"]][:300]
    qrels = [line.split("\t") for line in lines["qrels.tsv"]][1:]
    wanted = {q["_id"] for q in queries[:20]}
    gold = {doc for qid, doc, _ in qrels if qid in wanted}
    corpus = [json.loads(line) for line in lines["corpus.jsonl"]]
    chosen = [c for c in corpus if c["_id"] in gold] + corpus[:100]
    (subset / "corpus.jsonl").write_text("".join(json.dumps(c) + "\n" for c in chosen))
    (subset / "queries.jsonl").write_text("".join(
        json.dumps(q) + "\n" for q in queries if q["_id"] in wanted))
    (subset / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(
        "\t".join(row) + "\n" for row in qrels if row[0] in wanted))
    metrics = _metrics(_eval(subset, tmp_path / "data", "--limit", "10"))
    assert metrics["recall@10"] > 0.5
