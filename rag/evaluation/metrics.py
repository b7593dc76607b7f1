"""Retrieval metrics at k (nDCG, Recall, MAP, MRR), computed exactly as ../shared/eval/score.py.

Same definitions, same tie-breaking (score, then rank), same averaging over every query of
the qrels (a query absent from the run scores 0), same rounding to four decimals.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence

Qrels = Mapping[str, Mapping[str, int]]
Run = Mapping[str, Sequence[tuple[str, float]]]  # query id -> [(doc id, score)], best first


def query_metrics(ranked: Sequence[str], relevant: Mapping[str, int], k: int) -> dict[str, float]:
    """The four metrics of one query's ranked doc ids against its graded relevant docs."""
    seen: set[str] = set()
    hits, dcg, ap, rr = 0, 0.0, 0.0, 0.0
    for i, doc in enumerate(ranked[:k]):
        if doc in relevant and doc not in seen:
            seen.add(doc)
            hits += 1
            dcg += (2 ** relevant[doc] - 1) / math.log2(i + 2)
            ap += hits / (i + 1)
            rr = rr or 1 / (i + 1)
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return {
        f"ndcg@{k}": dcg / idcg if idcg else 0.0,
        f"recall@{k}": hits / len(relevant),
        f"map@{k}": ap / min(len(relevant), k),
        f"mrr@{k}": rr,
    }


def ranked_ids(results: Sequence[tuple[str, float]]) -> list[str]:
    """Doc ids ordered as score.py orders a run: score descending, then rank ascending."""
    keyed = [(score, -rank, doc) for rank, (doc, score) in enumerate(results, start=1)]
    return [doc for _, _, doc in sorted(keyed, reverse=True)]


def evaluate(qrels: Qrels, run: Run, k: int = 10) -> dict[str, float]:
    """Metrics averaged over every query in the qrels, rounded like score.py."""
    totals: Counter[str] = Counter()
    for query_id, relevant in qrels.items():
        totals.update(query_metrics(ranked_ids(run.get(query_id, [])), relevant, k))
    out: dict[str, float] = {m: round(v / len(qrels), 4) for m, v in totals.items()}
    out["queries"] = len(qrels)
    out["queries_in_run"] = sum(1 for q in qrels if q in run)
    return out
