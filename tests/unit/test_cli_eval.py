"""`coffre eval` in-process over the fake models: retrieval metrics, the answers table."""

from __future__ import annotations

import json
from pathlib import Path

from tests.unit.cli_kit import fake_wiring, run, write_corpus
from tests.unit.fakes import FakeGenerator
from tests.unit.http_kit import LTV_ANSWER, LTV_QUESTION


def _beir(tmp_path: Path) -> Path:
    folder = tmp_path / "tiny"
    folder.mkdir()
    (folder / "corpus.jsonl").write_text(
        '{"_id": "d1", "title": "Loans", "text": "Loan-to-value limits for mortgages."}\n'
        '{"_id": "d2", "title": "Cards", "text": "Card fees and monthly charges."}\n')
    (folder / "queries.jsonl").write_text(
        '{"_id": "q1", "text": "mortgage loan-to-value"}\n{"_id": "q2", "text": "card fees"}\n'
        '{"_id": "q3", "text": "not judged"}\n')
    (folder / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\n")
    return folder


def test_retrieval_prints_the_four_metrics_and_reuses_the_index(tmp_path: Path) -> None:
    wiring, dataset, run_file = fake_wiring(tmp_path), _beir(tmp_path), tmp_path / "run.tsv"
    first = run(wiring, "eval", "retrieval", str(dataset), "--out", str(run_file))
    assert first.exit_code == 0, first.output
    lines = first.stdout.splitlines()
    assert lines[0] == "tiny: 2 queries, corpus ingested, mode hybrid"
    assert [line.split() for line in lines[1:]] == [
        ["ndcg@10", "1.0"], ["recall@10", "1.0"], ["map@10", "1.0"], ["mrr@10", "1.0"]]
    rows = run_file.read_text().splitlines()
    assert rows[0] == "query-id\tcorpus-id\trank\tscore" and rows[1].startswith("q1\td1\t1\t")
    again = run(wiring, "eval", "retrieval", str(dataset), "--limit", "1", "--mode", "keyword")
    assert again.stdout.splitlines()[0] == "tiny: 1 queries, corpus reused, mode keyword"


def test_answers_are_scored_into_a_table_with_details(tmp_path: Path) -> None:
    questions = tmp_path / "questions.jsonl"
    questions.write_text("\n".join(json.dumps(q) for q in [
        {"id": "ltv", "question": LTV_QUESTION, "expect": "answer",
         "answer_contains": [["70 percent"]], "gold_file": "policy.jsonl"},
        {"id": "ceo", "question": "Who chairs the supervisory board?", "expect": "refuse"},
    ]) + "\n")
    details = tmp_path / "details.jsonl"
    wiring = fake_wiring(tmp_path, generator=FakeGenerator([LTV_ANSWER]))
    result = run(wiring, "eval", "answers", str(questions), "--corpus",
                 str(write_corpus(tmp_path)), "--details", str(details))
    assert result.exit_code == 0, result.output
    assert "Answer evaluation: 2 questions" in result.stdout
    assert "fake-llm" in result.stdout and "100.0% (1/1)" in result.stdout
    answers = [json.loads(line) for line in details.read_text().splitlines()]
    assert [(a["id"], a["refused"]) for a in answers] == [("ltv", False), ("ceo", True)]
    assert answers[1]["refusal_reason"] == "relevance"
    assert "total_s" in answers[0]["timings"]
