"""BM25 computed within a filter, for callers who may not see every document.

SQLite FTS5's bm25() takes its statistics (document count, term frequencies across chunks,
mean length) from the whole table, restricted chunks included, so the scores a restricted
caller sees would shift with documents they may not know exist. Within a filter, Coffre
scores with the same formula and parameters as FTS5 but statistics from the allowed chunks
only: results and scores are exactly those of an index holding only what the caller may read.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

K1 = 1.2
B = 0.75


def bm25_within(
    query_terms: Sequence[str],
    candidates: Sequence[tuple[int, str]],
    total: int,
    mean_length: float,
    k: int,
) -> list[tuple[int, float]]:
    """Top-k (rowid, score) by BM25 over `candidates`, with the allowed set's statistics.

    Matches FTS5's bm25(): idf = ln((N - n + 0.5) / (n + 0.5)), floored at 1e-6, for every
    query phrase; candidates are every allowed chunk holding a query term.
    """
    terms = list(dict.fromkeys(t for t in query_terms if t))
    if not terms or not candidates or k <= 0:
        return []
    counts = [(rowid, Counter(text.split())) for rowid, text in candidates]
    lengths = {rowid: sum(c.values()) for rowid, c in counts}
    df = {t: sum(1 for _, c in counts if t in c) for t in terms}
    idf = {t: max(1e-6, math.log((total - n + 0.5) / (n + 0.5))) for t, n in df.items()}
    mean = mean_length or 1.0
    scores = []
    for rowid, tf in counts:
        norm = K1 * (1 - B + B * lengths[rowid] / mean)
        score = sum(idf[t] * tf[t] * (K1 + 1) / (tf[t] + norm) for t in terms if tf[t])
        scores.append((rowid, score))
    scores.sort(key=lambda item: (-item[1], item[0]))
    return scores[:k]
