"""The throwaway index of a retrieval evaluation: a BEIR corpus through normal ingestion.

The corpus is ingested by the ordinary ingestion job into an index under
`<data dir>/eval/`, keyed by the corpus content, the embedding model and the chunk settings,
so a second run over the same data reuses the embedded corpus and costs only the queries.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from api.embedder_wiring import build_embedder
from api.settings import Settings
from api.wiring import Services, build_services
from indexes.records import file_sha256
from ingest.jobs import Ingester
from ingest.outcomes import IngestProgress
from rag.evaluation.datasets import Dataset
from rag.evaluation.errors import EvalError


def eval_services(
    settings: Settings, dataset: Dataset,
    build: Callable[[Settings], Services] = build_services,
) -> Services:
    """Services over the throwaway index of this corpus, model and chunking."""
    # Only the model's identity is needed for the key (a fingerprint, no model load).
    key = hashlib.sha256(
        "\x1f".join([
            file_sha256(dataset.corpus), build_embedder(settings).model_id,
            str(settings.chunk_size), str(settings.chunk_overlap), str(settings.chunk_max_chars),
        ]).encode()
    ).hexdigest()[:16]
    folder = settings.data_dir / "eval" / f"{dataset.name}-{key}"
    return build(settings.model_copy(update={"data_dir": folder}))


def ingest_corpus(services: Services, dataset: Dataset, progress: IngestProgress | None) -> bool:
    """Ingest the corpus into the services' throwaway index unless it already holds it;
    True when it was reused."""
    return ingest_once(services.ingester, services.settings.data_dir / "complete.json",
                       dataset, progress)


def ingest_once(
    ingester: Ingester, marker: Path, dataset: Dataset, progress: IngestProgress | None
) -> bool:
    """Ingest the corpus unless `marker` says it was; True when it was reused."""
    if marker.is_file():
        return True
    report = ingester.run([dataset.corpus], progress)
    failed = [o for o in report.outcomes if o.status == "failed"]
    if failed:
        raise EvalError(f"{failed[0].path}: {failed[0].reason}")
    marker.write_text(json.dumps({"corpus": str(dataset.corpus), "chunks": report.chunks}))
    return False
