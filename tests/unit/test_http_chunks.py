"""`GET /v1/chunks/{id}`: a passage for whoever may read it; compliance checks any."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.wiring import Services
from tests.unit.http_kit import CARD_TEXT, bearer, library


def test_a_readable_passage_comes_with_its_document(
    client: TestClient, services: Services
) -> None:
    books = library(services)
    response = client.get(f"/v1/chunks/{books.chunk_ids['cards']}",
                          headers=bearer(services, "employee", ("retail",)))
    assert response.status_code == 200
    body = response.json()
    assert body["text"] == CARD_TEXT and body["document"]["doc_id"] == books.doc_ids["cards"]


def test_an_unreadable_passage_looks_exactly_like_an_absent_one(
    client: TestClient, services: Services
) -> None:
    books = library(services)
    headers = bearer(services, "employee", ("retail",))
    hidden = client.get(f"/v1/chunks/{books.chunk_ids['board']}", headers=headers)
    absent = client.get("/v1/chunks/0000", headers=headers)
    assert hidden.status_code == absent.status_code == 404
    assert hidden.json()["detail"].replace(books.chunk_ids["board"], "") == \
        absent.json()["detail"].replace("0000", "")


def test_compliance_sees_every_passage_without_the_group(
    client: TestClient, services: Services
) -> None:
    books = library(services)
    headers = bearer(services, "compliance")
    for chunk_id in books.chunk_ids.values():
        assert client.get(f"/v1/chunks/{chunk_id}", headers=headers).status_code == 200


def test_a_passage_needs_credentials(client: TestClient, services: Services) -> None:
    books = library(services)
    response = client.get(f"/v1/chunks/{books.chunk_ids['cards']}")
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
