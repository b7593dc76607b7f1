"""`POST /v1/search` through the real app and wiring: ranking within access, translation."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from api.auth import Identity
from api.http.deps import caller
from api.wiring import Services
from tests.unit.fakes import FakeGenerator
from tests.unit.http_kit import LTV_QUESTION, bearer, library

FRENCH = "Quelle est la quotité maximale d'un prêt immobilier locatif ?"


def _searches(services: Services) -> list[dict[str, Any]]:
    return [r.body for r in services.audit.records() if r.body["kind"] == "search"]


def test_results_stay_within_the_callers_groups_and_are_audited(
    client: TestClient, services: Services
) -> None:
    library(services)
    body = client.post("/v1/search", json={"query": "card fee loan-to-value", "top_k": 5},
                       headers=bearer(services, "employee", ("retail",))).json()
    assert [r["document"]["title"] for r in body["results"]] == ["Card tariffs"]
    assert body["search_query"] is None
    [record] = _searches(services)
    assert record["channel"] == "http" and record["groups"] == ["retail"]
    assert [r["document"] for r in record["retrieved"]] == ["/docs/Card tariffs.txt"]
    assert record["search_query"] is None and record["embedding_model"] == "fake-hash-64"


def test_an_admin_searches_everything_and_filters_narrow_it(
    client: TestClient, services: Services
) -> None:
    ids = library(services).doc_ids
    headers = bearer(services, "admin")
    everything = client.post("/v1/search", json={"query": "card board loan"}, headers=headers)
    assert len(everything.json()["results"]) == 3
    narrowed = client.post("/v1/search", headers=headers, json={
        "query": "card board loan", "filters": {"documents": [ids["board"]]}}).json()
    assert [r["document"]["doc_id"] for r in narrowed["results"]] == [ids["board"]]


def test_a_request_filter_never_widens_access(client: TestClient, services: Services) -> None:
    ids = library(services).doc_ids
    body = client.post("/v1/search", headers=bearer(services, "employee", ("retail",)), json={
        "query": "board merger", "filters": {"documents": [ids["board"]]}}).json()
    assert body["results"] == []


def test_a_foreign_query_is_searched_translated_like_an_ask(
    client: TestClient, services: Services, fake_generator: FakeGenerator
) -> None:
    library(services)
    fake_generator.translations[FRENCH] = LTV_QUESTION
    body = client.post("/v1/search", json={"query": FRENCH, "top_k": 1},
                       headers=bearer(services, "employee", ("lending",))).json()
    assert fake_generator.translated == [FRENCH]
    assert body["search_query"] == LTV_QUESTION
    assert body["results"][0]["document"]["title"] == "Retail Credit Policy"
    [record] = _searches(services)
    assert record["question"] == FRENCH and record["search_query"] == LTV_QUESTION


def test_search_needs_credentials_and_a_reading_role(
    client: TestClient, services: Services
) -> None:
    assert client.post("/v1/search", json={"query": "x"}).status_code == 401
    client.app.dependency_overrides[caller] = lambda: Identity(  # type: ignore[attr-defined]
        "v", frozenset({"retail"}), frozenset({"visitor"}), "jwt")
    assert client.post("/v1/search", json={"query": "x"}).status_code == 403
    assert _searches(services) == []


def test_a_malformed_request_is_refused_before_anything_runs(
    client: TestClient, services: Services
) -> None:
    headers = bearer(services, "employee", ("retail",))
    assert client.post("/v1/search", json={"query": ""}, headers=headers).status_code == 422
    assert client.post("/v1/search", json={"query": "x", "top_k": 0},
                       headers=headers).status_code == 422
    assert client.post("/v1/search", json={"query": "x", "groups": ["board"]},
                       headers=headers).status_code == 422
