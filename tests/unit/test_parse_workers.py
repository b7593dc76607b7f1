"""Parsing in worker processes: a file that hangs, takes too much memory or kills its worker
is refused by name and the job goes on with a fresh worker; results and parser errors come
back as they were; workers start at the first file and are gone after close."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.settings import load_settings
from api.wiring import Services, build_services
from indexes.library import DocumentIndex
from ingest.archives import ArchiveLimits
from ingest.elements import ParseError, UnsupportedFileError
from ingest.parsing import parse_file
from ingest.workers import ParseWorkers, WorkerLimits, WorkerSetup
from tests.unit import parse_kit
from tests.unit.fakes import FakeEmbedder, FakeGenerator
from tests.unit.http_kit import bearer
from tests.unit.ingest_kit import by_name, make_ingester

TIMEOUT_S = 2.0
MEMORY_MB = 1024  # far above a worker's start (about 60 MB), far below parse_kit's 2 GiB


@pytest.fixture
def workers() -> Iterator[ParseWorkers]:
    pool = ParseWorkers(WorkerLimits(MEMORY_MB, TIMEOUT_S), setup=WorkerSetup(parse_kit.parse))
    yield pool
    pool.close()


def _files(folder: Path, *names: str) -> Path:
    folder.mkdir()
    for name in names:
        (folder / name).write_text(f"The {name} fee is charged monthly.\n")
    return folder


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_hanging_parser_is_killed_at_the_timeout_and_the_next_file_is_parsed(
    index: DocumentIndex, workers: ParseWorkers, tmp_path: Path
) -> None:
    folder = _files(tmp_path / "docs", "a.txt", "hang.txt", "z.txt")
    ingester = make_ingester(index, parser=workers)
    pids: list[list[int]] = []
    original = workers.parse

    def watched(path: Path, limits: ArchiveLimits) -> object:
        try:
            return original(path, limits)
        finally:
            pids.append(workers.pids())

    workers.parse = watched  # type: ignore[method-assign, assignment]
    started = time.monotonic()
    outcomes = by_name(ingester.run([folder]))
    took = time.monotonic() - started
    assert outcomes["hang.txt"].status == "failed"
    assert outcomes["hang.txt"].reason == (
        "parsing took longer than 2 s (COFFRE_PARSE_TIMEOUT_S); split the file or raise the limit")
    assert outcomes["a.txt"].status == outcomes["z.txt"].status == "ok"
    assert took < TIMEOUT_S + 10
    # The hung worker was killed; the next file had a fresh one.
    (first,), killed, (fresh,) = pids
    assert killed == [] and fresh != first and _gone(first)
    assert {d.title for d in index.store.documents()} == {"a", "z"}


def test_a_file_over_the_memory_limit_is_refused_by_name_and_the_job_goes_on(
    index: DocumentIndex, workers: ParseWorkers, tmp_path: Path
) -> None:
    folder = _files(tmp_path / "docs", "a.txt", "huge.txt", "killed.txt", "z.txt")
    started = time.monotonic()
    outcomes = by_name(make_ingester(index, parser=workers).run([folder]))
    reason = ("parsing needed more than 1024 MB (COFFRE_PARSE_MEMORY_MB); split the file or "
              "raise the limit")
    # MemoryError under the address-space limit, and a worker killed as the OS's OOM killer
    # would: both are the memory limit's doing.
    assert (outcomes["huge.txt"].status, outcomes["huge.txt"].reason) == ("failed", reason)
    assert (outcomes["killed.txt"].status, outcomes["killed.txt"].reason) == ("failed", reason)
    assert outcomes["a.txt"].status == outcomes["z.txt"].status == "ok"
    assert time.monotonic() - started < 15


def test_what_was_stored_stays_when_a_new_version_overruns(
    index: DocumentIndex, workers: ParseWorkers, tmp_path: Path
) -> None:
    folder = _files(tmp_path / "docs", "tariffs.txt")
    make_ingester(index, parser=workers).run([folder])
    [before] = index.store.documents()
    (folder / "tariffs.txt").write_text("hang: a second version that hangs its parser.\n")
    [outcome] = make_ingester(index, parser=workers).run([folder]).outcomes
    assert outcome.status == "failed" and "COFFRE_PARSE_TIMEOUT_S" in outcome.reason
    assert index.store.documents() == [before]


def test_parser_errors_come_back_with_their_type_and_message(
    workers: ParseWorkers, tmp_path: Path
) -> None:
    folder = _files(tmp_path / "docs", "broken.txt")
    with pytest.raises(ParseError) as raised:
        workers.parse(folder / "broken.txt", ArchiveLimits())
    assert type(raised.value) is ParseError
    assert str(raised.value) == f"{folder / 'broken.txt'}: corrupt file (test)"
    assert raised.value.reason == "corrupt file (test)"


def test_the_real_parser_gives_the_same_document_and_errors_in_a_worker(tmp_path: Path) -> None:
    text = tmp_path / "tariff.md"
    text.write_text("# Card tariffs\n\nThe classic card costs five euros a month.\n")
    odd = tmp_path / "scan.tiff"
    odd.write_bytes(b"II*\x00")
    with ParseWorkers() as pool:
        assert pool.pids() == []  # nothing runs before the first file
        assert pool.parse(text, ArchiveLimits()) == parse_file(text)
        with pytest.raises(UnsupportedFileError, match=r"scan\.tiff: unsupported file type"):
            pool.parse(odd, ArchiveLimits())
        [pid] = pool.pids()
        assert pid != os.getpid()
    assert pool.pids() == [] and _gone(pid)


def test_an_upload_over_the_memory_limit_is_refused_and_the_server_goes_on(
    client: TestClient, services: Services, workers: ParseWorkers
) -> None:
    services.ingester.parser = workers  # the real route and job; a parser that hoards memory
    headers = bearer(services, "content_owner", ("retail",))

    def upload(name: str) -> tuple[int, dict[str, object]]:
        response = client.post("/v1/documents", headers=headers, data={"groups": "retail"},
                               files={"file": (name, b"Card fees are charged monthly.\n")})
        return response.status_code, response.json()

    status, body = upload("huge-tariffs.txt")
    assert status == 422
    assert body["detail"] == (
        "huge-tariffs.txt: parsing needed more than 1024 MB (COFFRE_PARSE_MEMORY_MB); split the "
        "file or raise the limit")
    status, body = upload("tariffs.txt")
    assert (status, body["status"]) == (201, "ok")
    assert [d.title for d in services.index.store.documents()] == ["tariffs"]


def test_services_parse_in_workers_with_the_settings_limits_and_close_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("COFFRE_PARSE_MEMORY_MB", "1024")
    monkeypatch.setenv("COFFRE_PARSE_TIMEOUT_S", "2")
    monkeypatch.setenv("COFFRE_PARSE_WORKERS", "2")
    settings = load_settings(data_dir=tmp_path / "data", models_dir=tmp_path / "models")
    services = build_services(settings, embedder=FakeEmbedder(), generator=FakeGenerator([]))
    pool = services.ingester.parser
    assert isinstance(pool, ParseWorkers)
    assert (pool.limits, pool.size) == (WorkerLimits(1024, 2.0), 2)
    assert pool.pids() == []  # building the services starts no process
    pool.setup = WorkerSetup(parse_kit.parse)  # the settings' pool, with a parser that hangs
    [outcome] = services.ingester.run([_files(tmp_path / "docs", "hang.txt") / "hang.txt"]).outcomes
    assert "longer than 2 s (COFFRE_PARSE_TIMEOUT_S)" in outcome.reason
    [pid] = pool.pids() or [_started(pool, tmp_path)]
    services.close()
    assert pool.pids() == [] and _gone(pid)


def _started(pool: ParseWorkers, tmp_path: Path) -> int:
    """Parse one more file so that a worker is running, and give its process id."""
    pool.parse(_files(tmp_path / "more", "a.txt") / "a.txt", ArchiveLimits())
    [pid] = pool.pids()
    return pid
