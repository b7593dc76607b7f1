"""`GET /v1/audit`: the trail for compliance officers, searchable, refused to others."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.wiring import Services
from tests.unit.http_kit import LTV_QUESTION, bearer, library


def test_compliance_reads_the_trail_with_its_chain_hashes(
    client: TestClient, services: Services
) -> None:
    library(services)
    employee = bearer(services, "employee", ("lending",))
    client.post("/v1/search", json={"query": "loan-to-value"}, headers=employee)
    client.post("/v1/ask", json={"question": LTV_QUESTION}, headers=employee)
    auditor = bearer(services, "compliance")
    records = client.get("/v1/audit", headers=auditor).json()
    assert [r["body"]["kind"] for r in records] == ["ask", "search"]  # newest first
    assert records[0]["prev_hash"] == records[1]["hash"]
    assert client.get("/v1/audit", params={"user": "nobody"}, headers=auditor).json() == []
    asks = client.get("/v1/audit", params={"text": "buy-to-let", "limit": 1},
                      headers=auditor).json()
    assert [r["body"]["kind"] for r in asks] == ["ask"]


def test_the_trail_is_refused_to_other_roles_and_to_strangers(
    client: TestClient, services: Services
) -> None:
    assert client.get("/v1/audit").status_code == 401
    for role in ("employee", "content_owner"):
        response = client.get("/v1/audit", headers=bearer(services, role, ("lending",)))
        assert response.status_code == 403
        assert response.json() == {"detail": "this needs the role compliance"}
    assert client.get("/v1/audit", headers=bearer(services, "admin")).status_code == 200


def test_a_limit_out_of_range_is_a_validation_error(
    client: TestClient, services: Services
) -> None:
    response = client.get("/v1/audit", params={"limit": 0},
                          headers=bearer(services, "compliance"))
    assert response.status_code == 422
