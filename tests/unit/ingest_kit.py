"""What the ingestion tests share: a fixed clock, a small-chunk ingester, outcomes by name."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from indexes.library import DocumentIndex
from ingest.chunking import ChunkConfig, Chunker
from ingest.jobs import Ingester
from ingest.outcomes import FileOutcome, IngestReport
from ingest.workers import InProcessParser
from tests.unit.fakes import word_count

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def make_ingester(index: DocumentIndex, **kwargs: object) -> Ingester:
    """An ingester over `index` with 40-word chunks and the clock stopped at NOW; it parses
    in the test's process (no worker start-up) unless a `parser` is given: the worker tests
    and every test through `build_services` parse in worker processes."""
    chunker = Chunker(ChunkConfig(size=40, overlap=8), word_count)
    kwargs.setdefault("parser", InProcessParser())
    return Ingester(index, chunker, clock=lambda: NOW, **kwargs)  # type: ignore[arg-type]


def by_name(report: IngestReport) -> dict[str, FileOutcome]:
    """A report's outcomes keyed by file name."""
    return {Path(o.path).name: o for o in report.outcomes}
