"""Full retrieval evaluation on ../shared/eval: every dataset, keyword, vector and hybrid.

Runs the same code as `coffre eval retrieval` (normal ingestion into a cached throwaway index,
normal retrieval) with the current settings (COFFRE_* environment), and prints one Markdown
table row per dataset and mode for BENCHMARKS.md.

    .venv/bin/python bench/retrieval_eval.py [--datasets scifact,obliqa,piaf] [--limit N]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from api.cli.eval_index import eval_services, ingest_corpus
from api.settings import load_settings
from rag.evaluation.datasets import load_dataset, sample
from rag.evaluation.retrieval import retrieve, score
from rag.retrieval import SearchMode

EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"


def main() -> None:
    """Evaluate and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", default="scifact,obliqa,piaf")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--modes", default="keyword,vector,hybrid")
    args = parser.parse_args()
    settings = load_settings()
    print("| dataset | mode | queries | nDCG@10 | Recall@10 | MAP@10 | MRR@10 |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name in args.datasets.split(","):
        dataset = sample(load_dataset(EVAL / name), args.limit)
        services = eval_services(settings, dataset)
        ingest_corpus(services, dataset, None)
        for mode in args.modes.split(","):
            metrics = score(dataset, retrieve(services.retriever, dataset, SearchMode(mode)))
            print(f"| {name} | {mode} | {len(dataset.queries)} | {metrics['ndcg@10']:.4f} | "
                  f"{metrics['recall@10']:.4f} | {metrics['map@10']:.4f} | "
                  f"{metrics['mrr@10']:.4f} |", flush=True)
        services.close()


if __name__ == "__main__":
    main()
