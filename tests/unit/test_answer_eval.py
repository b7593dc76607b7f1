"""Scoring rules of the answer evaluation, on hand-made answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.answers import Answer, Timings
from rag.citations import Citation, Origin
from rag.evaluation.answers import (
    ModelScore,
    Question,
    cites_gold,
    contains_facts,
    load_questions,
    score_answer,
)
from rag.evaluation.errors import EvalError


def _citation(path: str, page: int | None) -> Citation:
    return Citation(1, 0, "c", "d", "t", path, page, "", "q", 0, 1, Origin.MODEL, 1.0)


def _answer(text: str, refused: bool = False, citations: list[Citation] | None = None) -> Answer:
    return Answer("q", text, refused, tuple(citations or ()), (), "m",
                  timings=Timings(first_token_s=1.0, total_s=2.0))


QUESTION = Question("q1", "Max LTV for buy-to-let?", "answer", [["70%", "70 %"], ["buy-to-let"]],
                    "retail-credit-policy.pdf", 3)
REFUSE = Question("q2", "CEO?", "refuse", [], None, None)


def test_every_group_must_match_with_any_alternative() -> None:
    assert contains_facts("Buy-to-let: 70 % maximum.", QUESTION.answer_contains)
    assert not contains_facts("Buy-to-let: 75%.", QUESTION.answer_contains)
    assert contains_facts("Jusqu’à deux jours", [["jusqu'à deux"]])  # apostrophes folded


def test_gold_citation_needs_file_and_page() -> None:
    assert cites_gold(_answer("x", citations=[_citation("/a/retail-credit-policy.pdf", 3)]),
                      QUESTION)
    assert not cites_gold(_answer("x", citations=[_citation("/a/retail-credit-policy.pdf", 2)]),
                          QUESTION)
    assert not cites_gold(_answer("x", citations=[_citation("/a/other.pdf", 3)]), QUESTION)


def test_tally() -> None:
    score = ModelScore("m")
    good = [_citation("/x/retail-credit-policy.pdf", 3)]
    score_answer(score, QUESTION, _answer("buy-to-let 70%", citations=good))
    score_answer(score, QUESTION, _answer("buy-to-let 70%"))  # facts, no citation
    score_answer(score, QUESTION, _answer("I don't know", refused=True))
    score_answer(score, REFUSE, _answer("I don't know", refused=True))
    score_answer(score, REFUSE, _answer("Jane Doe"))
    assert (score.answerable, score.unanswerable) == (3, 2)
    assert (score.correct, score.facts, score.cited) == (1, 2, 1)
    assert (score.refused_ok, score.refused_wrongly) == (1, 1)
    assert score.row()["correct+cited"] == "33.3% (1/3)"


def test_question_file_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({"id": "a", "question": "x", "expect": "answer"}) + "\n{bad\n")
    with pytest.raises(EvalError, match="line 2"):
        load_questions(path)


def test_the_shipped_question_set_is_well_formed() -> None:
    questions = load_questions(Path(__file__).resolve().parents[2] / "bench/demo/questions.jsonl")
    assert len(questions) >= 40
    assert sum(q.expect == "refuse" for q in questions) >= 6
    corpus = Path(__file__).resolve().parents[2] / "bench/demo/corpus"
    for q in questions:
        if q.expect == "answer":
            assert q.answer_contains and (corpus / str(q.gold_file)).is_file(), q.id
