"""Deny by default, group permissions on every route, and the audit trail, over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from api.wiring import Services
from indexes.filters import SearchFilter

pytestmark = pytest.mark.integration

SECRET = "Project Nightjar merger codename: the acquisition price is EUR 412 million."


@pytest.fixture(scope="module")
def restricted(demo_services: Services, tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("restricted")
    (folder / "nightjar.md").write_text(f"# Project Nightjar\n\n{SECRET}\n")
    (folder / "nightjar.md.acl.json").write_text('{"groups": ["mna"]}')
    report = demo_services.ingester.run([folder])
    assert report.outcomes[0].groups == ("mna",)
    doc = demo_services.index.store.document_by_path(str((folder / "nightjar.md").resolve()))
    assert doc is not None
    rowids = demo_services.index.store.allowed_rowids(SearchFilter(doc_ids=frozenset({doc.doc_id})))
    stored = demo_services.index.store.chunks_by_rowids([int(r) for r in rowids])
    return next(iter(stored.values())).chunk.chunk_id


@pytest.fixture(scope="module")
def banker(server_url: str, demo_services: Services) -> Iterator[httpx.Client]:
    key, _ = demo_services.keys.create("mona", ["mna"], "employee")
    with httpx.Client(base_url=server_url, timeout=300,
                      headers={"authorization": f"Bearer {key}"}) as http:
        yield http


def test_every_route_but_health_needs_credentials(server_url: str) -> None:
    assert httpx.get(f"{server_url}/healthz").status_code == 200
    for method, route in (("POST", "/v1/search"), ("POST", "/v1/ask"),
                          ("GET", "/v1/documents"), ("GET", "/v1/chunks/x"),
                          ("GET", "/v1/audit")):
        response = httpx.request(method, f"{server_url}{route}", json={"query": "x"})
        assert response.status_code == 401, route
        assert response.headers["www-authenticate"] == "Bearer"
    bad = httpx.get(f"{server_url}/v1/documents", headers={"authorization": "Bearer cof_x_y"})
    assert bad.status_code == 401


def test_restricted_document_looks_absent_to_others(
    client: httpx.Client, banker: httpx.Client, restricted: str
) -> None:
    query = {"query": "Nightjar acquisition price", "top_k": 5, "mode": "keyword"}
    others = client.post("/v1/search", json=query).json()["results"]
    assert all("Nightjar" not in r["text"] for r in others)
    # A word only the restricted document holds answers exactly like a word nobody holds.
    secret_word = client.post("/v1/search", json={**query, "query": "Nightjar"})
    absent_word = client.post("/v1/search", json={**query, "query": "Zorblax"})
    assert secret_word.status_code == absent_word.status_code == 200
    assert secret_word.json() == absent_word.json() == {"results": [], "search_query": None}
    assert client.get(f"/v1/chunks/{restricted}").status_code == 404
    assert client.get(f"/v1/chunks/{restricted}").json()["detail"] == f"no chunk {restricted}"
    assert all("nightjar" not in d["source_path"] for d in client.get("/v1/documents").json())
    allowed = banker.post("/v1/search", json=query).json()["results"]
    assert allowed and "Nightjar" in allowed[0]["text"]
    assert banker.get(f"/v1/chunks/{restricted}").status_code == 200


def test_asking_about_a_restricted_document_reveals_nothing(
    client: httpx.Client, restricted: str
) -> None:
    body = client.post("/v1/ask", json={"question": "What is the Nightjar acquisition price?"})
    data = body.json()
    assert "412" not in data["answer"]
    assert all("nightjar" not in s["document"]["source_path"] for s in data["sources"])
    assert all(c["chunk_id"] != restricted for c in data["citations"])


def test_audit_trail_records_asks_for_compliance_only(
    client: httpx.Client, server_url: str, demo_services: Services
) -> None:
    client.post("/v1/ask", json={"question": "How long is a valuation report valid?"})
    assert client.get("/v1/audit").status_code == 403
    key, _ = demo_services.keys.create("claire", [], "compliance")
    records = httpx.get(f"{server_url}/v1/audit", params={"user": "alice", "text": "valuation"},
                        headers={"authorization": f"Bearer {key}"}).json()
    assert records
    body = records[0]["body"]
    assert body["kind"] == "ask" and body["user"] == "alice" and body["groups"] == ["staff"]
    assert body["question"] == "How long is a valuation report valid?"
    assert body["model_sha256"] == demo_services.generator.sha256  # type: ignore[attr-defined]
    assert body["retrieved"] and all(len(c["content_sha256"]) == 64 for c in body["retrieved"])
    assert body["prompt_version"] and body["embedding_model"]
    assert demo_services.audit.verify() is None


def test_no_answer_without_an_audit_record(
    client: httpx.Client, demo_services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    # The real write fails (a read-only connection to the trail), not a stand-in for it.
    audit = demo_services.audit
    read_only = sqlite3.connect(f"file:{audit.path}?mode=ro", uri=True,
                                check_same_thread=False, isolation_level=None)
    monkeypatch.setattr(audit, "_db", read_only)
    response = client.post("/v1/ask", json={"question": "When do branches open?"})
    read_only.close()
    assert response.status_code == 503
    assert response.json()["detail"].startswith("no answer without an audit record")



def test_content_owner_uploads_for_their_groups_only(
    client: httpx.Client, server_url: str, demo_services: Services
) -> None:
    owner_key, _ = demo_services.keys.create("olga", ["staff"], "content_owner")
    owner = {"authorization": f"Bearer {owner_key}"}
    note = b"# Parking\n\nStaff parking permits cost EUR 35 per quarter at Harbour Street.\n"
    created = httpx.post(f"{server_url}/v1/documents", headers=owner,
                         files={"file": ("parking.md", note)}, data={"groups": "staff"})
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "ok" and created.json()["chunks"] >= 1
    found = client.post("/v1/search", json={"query": "parking permits quarter", "top_k": 1})
    assert "parking" in found.json()["results"][0]["document"]["source_path"]
    again = httpx.post(f"{server_url}/v1/documents", headers=owner,
                       files={"file": ("parking.md", note)}, data={"groups": "staff"})
    assert again.json()["status"] == "unchanged"
    other_group = httpx.post(f"{server_url}/v1/documents", headers=owner,
                             files={"file": ("x.md", b"# X\n\ntext")}, data={"groups": "board"})
    assert other_group.status_code == 403
    employee = client.post("/v1/documents", files={"file": ("y.md", b"# Y\n\ntext")},
                           data={"groups": "staff"})
    assert employee.status_code == 403
    broken = httpx.post(f"{server_url}/v1/documents", headers=owner,
                        files={"file": ("broken.docx", b"PK\x03\x04not really a docx")},
                        data={"groups": "staff"})
    assert broken.status_code == 422 and "broken.docx" in broken.json()["detail"]
    # The owner deletes it; it is gone for everyone, vectors included.
    doc_id = found.json()["results"][0]["document"]["doc_id"]
    assert httpx.delete(f"{server_url}/v1/documents/{doc_id}", headers=owner).status_code == 204
    after = client.post("/v1/search", json={"query": "parking permits quarter", "top_k": 3})
    assert all(r["document"]["doc_id"] != doc_id for r in after.json()["results"])
