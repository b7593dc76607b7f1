"""Reads and refusals on the audit trail, through the real app: passages read, documents
listed, the trail searched, and every 401, 403, 404 and 413, bounded against floods."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.http.trail import RefusalTrail
from api.wiring import Services
from tests.unit.http_kit import bearer, library, loop_calls


def _bodies(services: Services, *kinds: str) -> list[dict[str, Any]]:
    return [r.body for r in services.audit.records() if r.body["kind"] in kinds]


def _settled(client: TestClient) -> None:
    """Wait until the refusals noted so far are written (they are written off the loop)."""
    client.app.state.refusals.flush()  # type: ignore[attr-defined]


def test_a_passage_read_is_on_the_record_restricted_ones_marked(
    client: TestClient, services: Services
) -> None:
    books = library(services)
    employee = bearer(services, "employee", ("retail",))
    assert client.get(f"/v1/chunks/{books.chunk_ids['cards']}", headers=employee).is_success
    officer = bearer(services, "compliance")
    assert client.get(f"/v1/chunks/{books.chunk_ids['board']}", headers=officer).is_success
    mine, restricted = _bodies(services, "chunk_read")
    assert (mine["user"], mine["chunk_id"], mine["outside_groups"]) == (
        "employee-user", books.chunk_ids["cards"], False)
    assert mine["doc_id"] == books.doc_ids["cards"] and mine["document_groups"] == ["retail"]
    assert (restricted["user"], restricted["chunk_id"], restricted["outside_groups"]) == (
        "compliance-user", books.chunk_ids["board"], True)
    assert restricted["roles"] == ["compliance"] and len(restricted["content_sha256"]) == 64


def test_a_document_listing_is_on_the_record(client: TestClient, services: Services) -> None:
    library(services)
    client.get("/v1/documents", headers=bearer(services, "employee", ("retail",)))
    client.get("/v1/documents", headers=bearer(services, "admin"))
    retail, every = _bodies(services, "document_list")
    assert (retail["user"], retail["count"], retail["groups"]) == ("employee-user", 1,
                                                                   ["retail"])
    assert (every["user"], every["count"]) == ("admin-user", 3)
    assert retail["listing_sha256"] != every["listing_sha256"]


def test_an_audit_search_is_on_the_record_after_its_results(
    client: TestClient, services: Services
) -> None:
    officer = bearer(services, "compliance")
    services.audit.append("alice", {"kind": "search", "question": "ltv"})
    first = client.get("/v1/audit", params={"user": "alice"}, headers=officer).json()
    assert [r["user"] for r in first] == ["alice"]  # not its own record
    later = client.get("/v1/audit", params={"text": "alice", "limit": 5},
                       headers=officer).json()
    [search] = [r["body"] for r in later if r["body"]["kind"] == "audit_search"]
    assert search["user"] == "compliance-user"
    assert search["filters"] == {"user": "alice", "limit": 100}
    assert search["records"] == [first[0]["seq"]] and search["count"] == 1


def test_an_unauthenticated_refusal_keeps_the_address_and_a_fingerprint_never_the_key(
    client: TestClient, services: Services
) -> None:
    guessed = "cof_0000_guessedsecretvalue"
    assert client.get("/v1/documents").status_code == 401
    assert client.get("/v1/audit", headers={"authorization": f"Bearer {guessed}"}
                      ).status_code == 401
    _settled(client)
    bare, presented = _bodies(services, "denied")
    assert (bare["status"], bare["route"], bare["user"], bare["credential"]) == (
        401, "/v1/documents", "", None)
    assert bare["client"] == "testclient" and bare["method"] == "GET"
    assert presented["route"] == "/v1/audit" and len(presented["credential"]) == 16
    assert presented["credential"] == services.audit.fingerprint(guessed)
    stored = b"".join(p.read_bytes() for p in services.settings.data_dir.glob("audit.sqlite3*"))
    assert guessed.encode() not in stored and b"guessedsecret" not in stored


def test_forbidden_and_absent_are_on_the_record_with_their_user(
    client: TestClient, services: Services
) -> None:
    books = library(services)
    employee = bearer(services, "employee", ("retail",))
    assert client.get("/v1/audit", headers=employee).status_code == 403
    assert client.get(f"/v1/chunks/{books.chunk_ids['board']}", headers=employee
                      ).status_code == 404
    assert client.get("/no/such/page", headers=employee).status_code == 404
    _settled(client)
    forbidden, hidden, unknown = _bodies(services, "denied")
    assert (forbidden["status"], forbidden["route"], forbidden["user"]) == (
        403, "/v1/audit", "employee-user")
    assert (hidden["status"], hidden["route"], hidden["user"]) == (
        404, "/v1/chunks/{chunk_id}", "employee-user")
    assert hidden["path"] == f"/v1/chunks/{books.chunk_ids['board']}"
    assert (unknown["route"], unknown["path"]) == ("unmatched", "/no/such/page")
    assert _bodies(services, "chunk_read") == []  # nothing was shown


def test_an_upload_over_the_limit_is_on_the_record(
    client: TestClient, services: Services
) -> None:
    small = services.settings.model_copy(update={"max_file_mb": 0.00001})
    object.__setattr__(services, "settings", small)
    owner = bearer(services, "content_owner", ("retail",))
    response = client.post("/v1/documents", headers=owner, data={"groups": "retail"},
                           files={"file": ("big.txt", b"x" * 100, "text/plain")})
    assert response.status_code == 413
    _settled(client)
    [denied] = _bodies(services, "denied")
    assert (denied["status"], denied["route"], denied["method"]) == (413, "/v1/documents",
                                                                     "POST")


def test_a_flood_of_refusals_gets_one_record_and_a_count(services: Services) -> None:
    with TestClient(create_app(services, warm_up=False)) as http:
        for i in range(40):
            http.get("/v1/documents", headers={"authorization": f"Bearer cof_x_{i}"})
        http.get("/v1/chunks/x")  # another route: a window of its own
    first, other = _bodies(services, "denied")
    assert (first["route"], other["route"]) == ("/v1/documents", "/v1/chunks/{chunk_id}")
    [repeats] = _bodies(services, "denied_repeats")  # written when the app stopped
    assert first["credential"] is not None
    assert (repeats["client"], repeats["status"], repeats["route"], repeats["count"]) == (
        "testclient", 401, "/v1/documents", 39)
    assert len(repeats["credentials"]) == 20  # a few fingerprints, not all
    assert services.audit.verify() is None


def test_a_new_window_gets_a_full_record_again(services: Services) -> None:
    window = services.settings.model_copy(update={"audit_refusal_window_s": 0.2})
    object.__setattr__(services, "settings", window)
    with TestClient(create_app(services, warm_up=False)) as http:
        for _ in range(3):
            http.get("/v1/documents")
        time.sleep(0.3)
        http.get("/v1/documents")
        http.app.state.refusals.flush()  # type: ignore[attr-defined]
        assert len(_bodies(services, "denied")) == 2
    [repeats] = _bodies(services, "denied_repeats")
    assert repeats["count"] == 2


def test_refusals_are_written_off_the_event_loop_by_the_outermost_middleware(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_loop: list[str] = []

    off_loop = loop_calls(on_loop)

    monkeypatch.setattr(services.audit, "append", off_loop(services.audit.append))
    app = create_app(services, warm_up=False)
    assert app.user_middleware[0].cls is RefusalTrail  # the first listed wraps the others
    with TestClient(app) as http:
        http.get("/v1/documents")
        http.get("/v1/audit", headers=bearer(services, "employee"))
        http.app.state.refusals.flush()  # type: ignore[attr-defined]
    assert len(_bodies(services, "denied")) == 2 and on_loop == []
