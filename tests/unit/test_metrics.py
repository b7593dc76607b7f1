"""Retrieval metrics on hand-made qrels whose values are worked out by hand."""

from __future__ import annotations

import math

import pytest

from rag.evaluation.metrics import evaluate, query_metrics, ranked_ids


def test_perfect_ranking_scores_one() -> None:
    assert query_metrics(["a", "b"], {"a": 1}, 10) == {
        "ndcg@10": 1.0, "recall@10": 1.0, "map@10": 1.0, "mrr@10": 1.0,
    }


def test_relevant_doc_at_rank_three() -> None:
    got = query_metrics(["x", "y", "a"], {"a": 1}, 10)
    assert got["mrr@10"] == pytest.approx(1 / 3)
    assert got["map@10"] == pytest.approx(1 / 3)
    assert got["recall@10"] == 1.0
    assert got["ndcg@10"] == pytest.approx(1 / math.log2(4))


def test_two_relevant_one_found_and_one_beyond_k() -> None:
    ranked = ["a"] + [f"n{i}" for i in range(9)] + ["b"]
    got = query_metrics(ranked, {"a": 1, "b": 1}, 10)
    assert got["recall@10"] == 0.5
    assert got["map@10"] == pytest.approx(0.5)  # (1/1) / min(2, 10)
    idcg = 1 + 1 / math.log2(3)
    assert got["ndcg@10"] == pytest.approx(1 / idcg)


def test_duplicates_in_a_run_count_once() -> None:
    assert query_metrics(["a", "a"], {"a": 1, "b": 1}, 10)["recall@10"] == 0.5


def test_ties_are_broken_by_rank_like_score_py() -> None:
    assert ranked_ids([("b", 1.0), ("a", 2.0), ("c", 1.0)]) == ["a", "b", "c"]


def test_missing_queries_score_zero_and_averages_round_to_four_places() -> None:
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}, "q3": {"c": 1}}
    run = {"q1": [("a", 1.0)], "q2": [("x", 2.0), ("b", 1.0)]}
    got = evaluate(qrels, run, 10)
    assert got["mrr@10"] == round((1 + 0.5 + 0) / 3, 4)
    assert got["queries"] == 3 and got["queries_in_run"] == 2
