"""The document routes through the real app: list, upload, delete, regroup, and who may."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.wiring import Services
from tests.unit.http_kit import bearer, library

RECORD = json.dumps({"_id": "fees", "title": "Fees", "text": "The wire fee is ten euros."})


def _upload(client: TestClient, headers: dict[str, str], groups: str,
            name: str = "fees.jsonl", data: str = RECORD) -> Any:
    return client.post("/v1/documents", headers=headers, data={"groups": groups},
                       files={"file": (name, data.encode(), "application/x-ndjson")})


def _kinds(services: Services) -> list[str]:
    return [str(r.body["kind"]) for r in services.audit.records()]


def test_the_list_shows_what_the_caller_may_read(client: TestClient, services: Services) -> None:
    library(services)
    mine = client.get("/v1/documents", headers=bearer(services, "employee", ("retail",)))
    assert [d["title"] for d in mine.json()] == ["Card tariffs"]
    every = client.get("/v1/documents", headers=bearer(services, "admin")).json()
    assert sorted(d["title"] for d in every) == ["Board minutes", "Card tariffs",
                                                 "Retail Credit Policy"]
    assert client.get("/v1/documents").status_code == 401


def test_a_content_owner_uploads_for_their_own_groups(
    client: TestClient, services: Services
) -> None:
    headers = bearer(services, "content_owner", ("retail", "staff"))
    response = _upload(client, headers, "staff, retail,")
    assert response.status_code == 201
    assert response.json() == {"file": "fees.jsonl", "status": "ok", "chunks": 1,
                               "groups": ["retail", "staff"]}
    again = _upload(client, headers, "retail")
    assert again.status_code == 201 and again.json()["status"] == "unchanged"
    [first, second] = [r.body for r in services.audit.records()]
    assert first["kind"] == "upload" and first["groups"] == ["retail", "staff"]
    assert first["status"] == "ok" and str(first["file"]).endswith("fees.jsonl")
    assert second["status"] == "unchanged"
    titles = [d["title"] for d in client.get("/v1/documents", headers=headers).json()]
    assert titles == ["Fees"]


@pytest.mark.parametrize(("role", "groups", "sent", "status"), [
    ("employee", ("retail",), "retail", 403),  # not a content owner
    ("content_owner", ("retail",), "board", 403),  # a group they do not belong to
    ("content_owner", ("retail",), " , ", 422),  # no group at all
])
def test_uploads_refused(
    client: TestClient, services: Services, role: str, groups: tuple[str, ...], sent: str,
    status: int,
) -> None:
    response = _upload(client, bearer(services, role, groups), sent)
    assert response.status_code == status
    assert _kinds(services) == []


def test_an_admin_grants_any_group(client: TestClient, services: Services) -> None:
    assert _upload(client, bearer(services, "admin"), "board").status_code == 201


def test_an_oversized_or_unreadable_upload_is_refused_with_its_reason(
    services: Services, client: TestClient
) -> None:
    headers = bearer(services, "content_owner", ("retail",))
    broken = _upload(client, headers, "retail", name="notes.xyz", data="what is this")
    assert broken.status_code == 422 and broken.json()["detail"].startswith("notes.xyz: ")
    assert _kinds(services) == ["upload"]  # what was tried is on the record all the same
    small = services.settings.model_copy(update={"max_file_mb": 0.00001})
    object.__setattr__(services, "settings", small)
    large = _upload(client, headers, "retail", data=RECORD * 10)
    assert large.status_code == 413 and "over the 1e-05 MB limit" in large.json()["detail"]


def test_delete_by_an_owner_of_its_group_or_an_admin(
    client: TestClient, services: Services
) -> None:
    ids = library(services).doc_ids
    owner = bearer(services, "content_owner", ("retail",))
    assert client.delete(f"/v1/documents/{ids['cards']}", headers=owner).status_code == 204
    assert services.index.store.document(ids["cards"]) is None
    assert client.delete(f"/v1/documents/{ids['board']}",
                         headers=bearer(services, "admin")).status_code == 204
    bodies = [r.body for r in services.audit.records()]
    assert bodies == [{"kind": "delete", "user": "content_owner-user", "doc_id": ids["cards"]},
                      {"kind": "delete", "user": "admin-user", "doc_id": ids["board"]}]


def test_a_document_outside_the_callers_groups_looks_absent(
    client: TestClient, services: Services
) -> None:
    ids = library(services).doc_ids
    owner = bearer(services, "content_owner", ("retail",))
    hidden = client.delete(f"/v1/documents/{ids['board']}", headers=owner)
    absent = client.delete("/v1/documents/0000", headers=owner)
    assert hidden.status_code == absent.status_code == 404
    assert hidden.json()["detail"].replace(ids["board"], "") == \
        absent.json()["detail"].replace("0000", "")
    patched = client.patch(f"/v1/documents/{ids['board']}", json={"groups": ["retail"]},
                           headers=owner)
    assert patched.status_code == 404
    employee = bearer(services, "employee", ("board",))
    assert client.delete(f"/v1/documents/{ids['board']}", headers=employee).status_code == 403
    assert services.index.store.document(ids["board"]) is not None
    assert _kinds(services) == []


def test_regrouping_within_the_owners_groups(client: TestClient, services: Services) -> None:
    ids = library(services).doc_ids
    owner = bearer(services, "content_owner", ("retail", "staff"))
    response = client.patch(f"/v1/documents/{ids['cards']}", json={"groups": ["staff"]},
                            headers=owner)
    assert response.status_code == 200 and response.json()["doc_id"] == ids["cards"]
    assert services.index.store.document(ids["cards"]).groups == ("staff",)  # type: ignore[union-attr]
    refused = client.patch(f"/v1/documents/{ids['cards']}", json={"groups": ["board"]},
                           headers=owner)
    assert refused.status_code == 403
    assert refused.json()["detail"] == "content owners can only grant groups they belong to"
    assert [r.body for r in services.audit.records()] == [
        {"kind": "set_groups", "user": "content_owner-user", "doc_id": ids["cards"],
         "groups": ["staff"]}]


def test_no_store_call_runs_on_the_event_loop(
    client: TestClient, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    books = library(services)
    ids = books.doc_ids
    store, on_loop = services.index.store, []

    def off_loop(method: Callable[..., Any]) -> Callable[..., Any]:
        def checked(*args: Any, **kwargs: Any) -> Any:
            try:
                asyncio.get_running_loop()
                on_loop.append(method.__name__)
            except RuntimeError:
                pass  # a worker thread: no loop here
            return method(*args, **kwargs)
        return checked

    for name in ("document", "documents", "set_groups", "chunk", "delete_document"):
        monkeypatch.setattr(store, name, off_loop(getattr(store, name)))
    monkeypatch.setattr(services.audit, "append", off_loop(services.audit.append))
    monkeypatch.setattr(services.keys, "lookup", off_loop(services.keys.lookup))
    owner = bearer(services, "content_owner", ("retail", "staff"))
    client.get("/v1/documents", headers=owner)
    client.patch(f"/v1/documents/{ids['cards']}", json={"groups": ["staff"]}, headers=owner)
    client.get(f"/v1/chunks/{books.chunk_ids['cards']}", headers=owner)
    client.delete(f"/v1/documents/{ids['cards']}", headers=owner)
    client.post("/v1/search", json={"query": "card"}, headers=owner)
    client.post("/v1/ask", json={"question": "card fee?"}, headers=owner)
    assert on_loop == []
