"""Hostile files through the real upload route: a zip bomb, one unbroken word, hidden HTML;
and the settings that bound them reaching the ingester."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.ingest_wiring import archive_limits
from api.settings import SettingsError, load_settings
from api.wiring import Services, build_services
from ingest.archives import ArchiveLimits
from tests.unit.fakes import FakeEmbedder, FakeGenerator
from tests.unit.hostile_files import MIB, PAGE, VISIBLE, zip_bomb
from tests.unit.http_kit import bearer

GROUP = "retail"


def _upload(client: TestClient, services: Services, name: str, data: bytes) -> Any:
    return client.post("/v1/documents", headers=bearer(services, "content_owner", (GROUP,)),
                       data={"groups": GROUP}, files={"file": (name, data)})


def _search(client: TestClient, services: Services, query: str, mode: str) -> Any:
    return client.post("/v1/search", headers=bearer(services, "employee", (GROUP,)),
                       json={"query": query, "top_k": 1, "mode": mode})


def test_an_uploaded_zip_bomb_is_refused_with_its_reason(
    client: TestClient, services: Services, tmp_path: Path
) -> None:
    # Memory is measured in test_ingest_archives: here the route's own read of the upload
    # reserves a buffer of COFFRE_MAX_FILE_MB, which tracemalloc would count.
    data = zip_bomb(tmp_path / "bomb.docx", inflated_mib=300).read_bytes()
    _upload(client, services, "warm.txt", b"Mortgage rates are fixed for ten years.")
    response = _upload(client, services, "bomb.docx", data)
    assert response.status_code == 422
    assert response.json()["detail"] == (
        "bomb.docx: unsafe archive: 'word/document.xml' inflates to 300 MB, over the 200 MB "
        "limit; if the file is genuine, raise COFFRE_ARCHIVE_MAX_MB")
    assert [r.body["status"] for r in services.audit.records()] == ["ok", "failed"]


def test_one_unbroken_word_gives_small_search_hits_and_listings(
    client: TestClient, services: Services
) -> None:
    response = _upload(client, services, "unbroken.txt", b"w" * (2 * 1024 * 1024))
    assert response.status_code == 201 and response.json()["chunks"] > 1000
    hit = _search(client, services, "anything at all", "vector")
    assert len(hit.json()["results"]) == 1
    listing = client.get("/v1/documents", headers=bearer(services, "employee", (GROUP,)))
    print(f"\ntop-1 search: {len(hit.content):,} bytes; listing: {len(listing.content):,} bytes")
    assert len(hit.content) < 5_000
    assert len(listing.content) < 1_000
    assert listing.json()[0]["title"] == "unbroken"


def test_hidden_text_of_an_uploaded_page_cannot_be_found(
    client: TestClient, services: Services
) -> None:
    assert _upload(client, services, "fees.html", PAGE.encode()).status_code == 201
    for word in ("displaysecret", "whitesecret", "classrulesecret", "ariasecret"):
        assert _search(client, services, word, "keyword").json()["results"] == []
    found = _search(client, services, "replacement cards", "keyword").json()["results"]
    assert VISIBLE[1] in found[0]["text"]


@pytest.mark.parametrize(("variable", "value"), [
    ("COFFRE_ARCHIVE_MAX_MB", "0"), ("COFFRE_ARCHIVE_MAX_RATIO", "0.5"),
    ("COFFRE_ARCHIVE_MAX_MEMBERS", "0"), ("COFFRE_CHUNK_MAX_CHARS", "99"),
])
def test_wrong_limits_name_their_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=variable):
        load_settings()


def test_the_limits_reach_the_ingester(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert archive_limits(load_settings()) == ArchiveLimits()
    monkeypatch.setenv("COFFRE_ARCHIVE_MAX_MB", "1.5")
    monkeypatch.setenv("COFFRE_ARCHIVE_MAX_RATIO", "40")
    monkeypatch.setenv("COFFRE_ARCHIVE_MAX_MEMBERS", "300")
    monkeypatch.setenv("COFFRE_CHUNK_MAX_CHARS", "700")
    settings = load_settings(data_dir=tmp_path / "data", models_dir=tmp_path / "models")
    services = build_services(settings, embedder=FakeEmbedder(), generator=FakeGenerator([]))
    try:
        assert services.ingester.archive_limits == ArchiveLimits(
            max_inflated_bytes=int(1.5 * MIB), max_ratio=40, max_members=300)
        assert services.ingester.chunker.config.char_limit == 700
    finally:
        services.close()
