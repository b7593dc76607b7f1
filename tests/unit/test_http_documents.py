"""The document routes through the real app: list, upload, delete, regroup, and who may."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api import access
from api.wiring import Services
from tests.unit.http_kit import bearer, library, loop_calls

REFUSALS = ("denied", "denied_repeats")
RECORD = json.dumps({"_id": "fees", "title": "Fees", "text": "The wire fee is ten euros."})


def _upload(client: TestClient, headers: dict[str, str], groups: str,
            name: str = "fees.jsonl", data: str = RECORD) -> Any:
    return client.post("/v1/documents", headers=headers, data={"groups": groups},
                       files={"file": (name, data.encode(), "application/x-ndjson")})


def _kinds(services: Services) -> list[str]:
    """The kinds of the records of document changes (refused requests' records, written
    for every route, are tested in test_http_trail.py)."""
    return [str(r.body["kind"]) for r in services.audit.records()
            if r.body["kind"] not in REFUSALS]


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
    [first, regrouped, second] = [r.body for r in services.audit.records()]
    assert first["kind"] == "upload" and first["groups"] == ["retail", "staff"]
    assert first["status"] == "ok" and str(first["file"]).endswith("fees.jsonl")
    assert regrouped["kind"] == "set_groups" and regrouped["groups"] == ["retail"]
    assert second["kind"] == "upload" and second["status"] == "unchanged"
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
    assert [r.body for r in services.audit.records() if r.body["kind"] not in REFUSALS] == [
        {"kind": "set_groups", "user": "content_owner-user", "doc_id": ids["cards"],
         "groups": ["staff"]}]


def test_no_store_call_runs_on_the_event_loop(
    client: TestClient, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    books = library(services)
    ids = books.doc_ids
    store, on_loop = services.index.store, []

    off_loop = loop_calls(on_loop)

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


def _titles(client: TestClient, headers: dict[str, str]) -> list[str]:
    return [d["title"] for d in client.get("/v1/documents", headers=headers).json()]


def _trail(services: Services) -> list[dict[str, Any]]:
    """The records of uploads and group changes (not those of refused requests)."""
    return [r.body for r in services.audit.records()
            if r.body["kind"] in ("upload", "set_groups")]


def test_re_uploading_a_file_cannot_take_it_from_the_groups_that_read_it(
    client: TestClient, services: Services
) -> None:
    assert _upload(client, bearer(services, "content_owner", ("risk",)), "risk").status_code \
        == 201
    staff_owner = bearer(services, "content_owner", ("staff",))
    taken = _upload(client, staff_owner, "staff")  # the same name and bytes, for staff
    # What any upload this owner may not make gets: a new file for a group not theirs.
    other = json.dumps({"_id": "card", "title": "Cards", "text": "A card costs five euros."})
    new_file = _upload(client, staff_owner, "risk", name="cards.jsonl", data=other)
    assert taken.status_code == new_file.status_code == 403
    assert taken.json() == new_file.json() == {"detail": access.UPLOAD_REFUSED}
    assert taken.headers == new_file.headers  # nothing tells the stored file apart
    assert _titles(client, bearer(services, "employee", ("risk",))) == ["Fees"]
    assert _titles(client, bearer(services, "employee", ("staff",))) == []
    [acl] = (services.settings.data_dir / "uploads").rglob("*.acl.json")
    assert json.loads(acl.read_text()) == {"groups": ["risk"]}
    [stored, refused] = _trail(services)
    assert stored["status"] == "ok" and refused["status"] == "forbidden"
    assert refused["user"] == "content_owner-user" and refused["file"] == stored["file"]


def test_re_uploading_for_other_groups_is_a_group_change_on_the_record(
    client: TestClient, services: Services
) -> None:
    assert _upload(client, bearer(services, "content_owner", ("risk",)), "risk").status_code \
        == 201
    [doc] = services.index.store.documents()
    both = bearer(services, "content_owner", ("risk", "staff"))
    again = _upload(client, both, "staff")
    assert again.status_code == 201
    assert again.json() == {"file": "fees.jsonl", "status": "unchanged", "chunks": 0,
                            "groups": ["staff"]}
    assert _titles(client, bearer(services, "employee", ("risk",))) == []
    assert _titles(client, bearer(services, "employee", ("staff",))) == ["Fees"]
    assert [(r["kind"], r.get("doc_id"), r["groups"]) for r in _trail(services)] == [
        ("upload", None, ["risk"]), ("set_groups", doc.doc_id, ["staff"]),
        ("upload", None, ["staff"])]


def test_a_document_cannot_be_left_without_a_group(
    client: TestClient, services: Services
) -> None:
    ids = library(services).doc_ids
    owner = bearer(services, "content_owner", ("retail",))
    for groups in ([], ["", "  "]):
        response = client.patch(f"/v1/documents/{ids['cards']}", json={"groups": groups},
                                headers=owner)
        assert response.status_code == 422, response.text
        assert response.json()["detail"].startswith("groups: give at least one group")
    assert _titles(client, bearer(services, "employee", ("retail",))) == ["Card tariffs"]
    refused = _upload(client, owner, " , ")
    assert refused.status_code == 422 and refused.json()["detail"].startswith("groups: ")
    assert _trail(services) == []


def _files(folder: Path) -> dict[str, bytes | None]:
    """Every path under `folder`, with the bytes of the files (None for a folder)."""
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None
            for p in sorted(folder.rglob("*"))}


def test_a_rejected_upload_leaves_nothing_and_never_takes_a_stored_file(
    client: TestClient, services: Services
) -> None:
    owner = bearer(services, "content_owner", ("retail", "staff"))
    assert _upload(client, owner, "retail").status_code == 201
    uploads = services.settings.data_dir / "uploads"
    stored = _files(uploads)
    unreadable = _upload(client, owner, "retail", name="notes.xyz", data="what is this")
    beside = _upload(client, owner, "retail", name="fees.xyz")  # the same bytes, one folder
    assert unreadable.status_code == beside.status_code == 422
    assert _files(uploads) == stored  # no file, no access file, no empty folder left
    # The same file again, for staff, failing this time: the stored one stays, for retail.
    object.__setattr__(services.ingester, "max_file_bytes", 10)
    failed = _upload(client, owner, "staff")
    assert failed.status_code == 422 and "over the" in failed.json()["detail"]
    assert _files(uploads) == stored
    assert _titles(client, bearer(services, "employee", ("retail",))) == ["Fees"]
    assert [r["status"] for r in _trail(services)] == ["ok", "unsupported", "unsupported",
                                                       "failed"]


def _raw_upload(client: TestClient, headers: dict[str, str], filename: bytes) -> Any:
    """An upload whose file name is sent exactly as given (no client escaping)."""
    body = (b'--b0undary\r\nContent-Disposition: form-data; name="groups"\r\n\r\nretail\r\n'
            b'--b0undary\r\nContent-Disposition: form-data; name="file"; filename="'
            + filename + b'"\r\nContent-Type: application/x-ndjson\r\n\r\n'
            + RECORD.encode() + b"\r\n--b0undary--\r\n")
    return client.post("/v1/documents", content=body, headers={
        **headers, "content-type": "multipart/form-data; boundary=b0undary"})


BAD_NAMES = [
    ("too long", b"x" * 300 + b".jsonl"), ("empty", b""), ("blank", b" . "),
    ("parent folder", b".."), ("a path", b"../../etc/fees.jsonl"),
    ("a Windows path", b"..\\\\fees.jsonl"), ("NUL", b"fees\x00.jsonl"),
    ("a device", b"CON.jsonl"), ("an access file", b"fees.jsonl.acl.json"),
    ("a folder's access file", b"_acl.json"),
]


@pytest.mark.parametrize(("case", "name"), BAD_NAMES, ids=[c for c, _ in BAD_NAMES])
def test_a_malformed_file_name_is_a_422_naming_the_file_field_and_on_the_record(
    client: TestClient, services: Services, case: str, name: bytes
) -> None:
    response = _raw_upload(client, bearer(services, "content_owner", ("retail",)), name)
    assert response.status_code == 422, (case, response.text)
    detail = response.json()["detail"]
    assert detail.startswith("file: ") and "rename the file" in detail and len(detail) < 200
    uploads = services.settings.data_dir / "uploads"
    assert not uploads.exists() or _files(uploads) == {}
    [record] = _trail(services)
    assert record["status"] == "bad_name" and record["groups"] == ["retail"]
    assert services.index.store.documents() == []
