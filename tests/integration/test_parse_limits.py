"""The real parser under the worker limits: the hostile text of many short sentences, which
takes about 3.7 GB unlimited, is refused by name once its worker passes the limit, and the
next file is parsed by a fresh worker; the parent's memory does not grow."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ingest.archives import ArchiveLimits
from ingest.elements import ParseError
from ingest.workers import ParseWorkers, WorkerLimits
from tests.integration.conftest import DEMO_CORPUS

pytestmark = pytest.mark.integration

# A worker that has imported the text parsers reserves about 920 MB (measured 2026-12-02):
# this leaves it 360 MB for the file.
MEMORY_MB = 1280


def _rss_mb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    raise AssertionError("no VmRSS")


def test_the_hostile_text_is_refused_by_name_and_the_next_file_parses(tmp_path: Path) -> None:
    fees = tmp_path / "fees.txt"
    fees.write_text("Fees are fixed. " * 80000)
    before = _rss_mb()
    with ParseWorkers(WorkerLimits(MEMORY_MB, 300)) as pool:
        started = time.monotonic()
        with pytest.raises(ParseError) as refused:
            pool.parse(fees, ArchiveLimits())
        took = time.monotonic() - started
        assert str(refused.value) == (
            f"{fees}: parsing needed more than 1280 MB (COFFRE_PARSE_MEMORY_MB); split the file "
            f"or raise the limit")
        hours = pool.parse(DEMO_CORPUS / "branch-opening-hours.txt", ArchiveLimits())
    print(f"\nrefused after {took:.1f} s; parent RSS {before} -> {_rss_mb()} MB")
    assert took < 120
    assert any("Saturday" in e.text or "opening" in e.text.lower() for e in hours.elements)
    assert _rss_mb() - before < 100
