"""Ingestion throughput of the whole pipeline against the bare embedder, in one run.

Ingests the first N records of a JSON Lines corpus (default: SciFact from ../shared/eval)
through the real ingestion job into a throwaway data directory, then embeds exactly the same
chunk texts with the embedder alone, and prints both rates and their ratio (goal >= 0.90).

    .venv/bin/python bench/ingest_throughput.py [--corpus PATH] [--limit N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from itertools import islice
from pathlib import Path

from api.settings import load_settings
from api.wiring import build_services
from ingest.chunking import Chunk
from ingest.jobs import embedding_text

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT.parent / "shared" / "eval" / "scifact" / "corpus.jsonl"


def main() -> None:
    """Run the measurement and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--limit", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sample = Path(tmp) / "sample.jsonl"
        with args.corpus.open() as source:
            sample.write_text("".join(islice(source, args.limit)))
        services = build_services(load_settings(data_dir=Path(tmp) / "data"))
        services.embedder.embed_passages(["warm up"])  # model load is not ingestion
        started = time.perf_counter()
        report = services.ingester.run([sample])
        pipeline_s = time.perf_counter() - started
        store = services.index.store
        rowids, _ = store.embeddings()
        texts = [
            embedding_text(row.document, Chunk(row.chunk.text, row.chunk.page,
                                               row.chunk.page_end, row.chunk.section,
                                               row.chunk.kind))
            for row in store.chunks_by_rowids([int(r) for r in rowids]).values()
        ]
        started = time.perf_counter()
        services.embedder.embed_passages(texts)
        embed_s = time.perf_counter() - started
        services.close()
    chunks = report.chunks
    print(f"corpus: {args.corpus} ({args.limit} records, {chunks} chunks)")
    print(f"pipeline (parse+chunk+embed+store): {pipeline_s:8.2f} s  "
          f"{chunks / pipeline_s:8.1f} chunks/s")
    print(f"embedder alone, same texts:         {embed_s:8.2f} s  "
          f"{len(texts) / embed_s:8.1f} chunks/s")
    print(f"ratio pipeline/embedder throughput: {embed_s / pipeline_s:.3f}  (goal >= 0.90)")


if __name__ == "__main__":
    main()
