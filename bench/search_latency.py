"""Hybrid search latency on the ObliQA index against bare query embedding + FAISS search.

Both measured in one run over the same sampled queries on the same index (built, or reused,
through the normal ingestion path): the baseline embeds the query and searches a bare
faiss.IndexFlatIP holding the same vectors; Coffre runs its full hybrid retrieval (vector
and BM25 rankings, fusion, chunk and document lookup). Prints p50/p95 and their ratios
(goal: hybrid under 2x the bare vector search).

    .venv/bin/python bench/search_latency.py [--dataset obliqa] [--queries 300]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import faiss

from api.cli.eval_index import eval_services, ingest_corpus
from api.settings import load_settings
from rag.evaluation.datasets import load_dataset, sample

EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(0.95 * (len(ordered) - 1))]


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", default="obliqa")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--top-k", type=int, default=10)
    args = parser.parse_args()
    dataset = sample(load_dataset(EVAL / args.dataset), args.queries)
    services = eval_services(load_settings(), dataset)
    ingest_corpus(services, dataset, None)
    _, vectors = services.index.store.embeddings()
    bare = faiss.IndexFlatIP(vectors.shape[1])
    bare.add(vectors)
    queries = [text for _, text in dataset.queries]
    services.retriever.search(queries[0], args.top_k)  # load models and the index once
    baseline, hybrid = [], []
    for query in queries:
        started = time.perf_counter()
        bare.search(services.embedder.embed_query(query).reshape(1, -1), args.top_k)
        baseline.append(time.perf_counter() - started)
        started = time.perf_counter()
        services.retriever.search(query, args.top_k)
        hybrid.append(time.perf_counter() - started)
    (b50, b95), (h50, h95) = _percentiles(baseline), _percentiles(hybrid)
    print(f"{args.dataset}: {len(vectors)} chunks, {len(queries)} queries, top {args.top_k}")
    print(f"bare embed + FAISS: p50 {b50 * 1000:.1f} ms, p95 {b95 * 1000:.1f} ms")
    print(f"Coffre hybrid:      p50 {h50 * 1000:.1f} ms, p95 {h95 * 1000:.1f} ms")
    print(f"ratio: p50 {h50 / b50:.2f}x, p95 {h95 / b95:.2f}x  (goal < 2x)")
    services.close()


if __name__ == "__main__":
    main()
