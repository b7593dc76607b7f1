"""Ingestion jobs over HTTP through the real app and job runner: create, poll, sync a source
folder, upload, cancel, and resume after a restart; a document's versions."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.settings import Settings, load_settings
from api.wiring import Services
from ingest.job_store import JobSpec, JobState
from tests.unit.http_kit import bearer

JOBS = "/v1/ingest/jobs"


def record(key: str, text: str) -> str:
    return json.dumps({"_id": key, "title": key.capitalize(), "text": text}) + "\n"


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "fees.jsonl").write_text(record("fees", "The wire fee is ten euros."))
    (folder / "hours.jsonl").write_text(record("hours", "Branches open at nine."))
    return folder


@pytest.fixture
def coffre_settings(tmp_path: Path, policies: Path) -> Settings:
    """The shared `services` and `client` fixtures, with the folder as source `policies`."""
    return load_settings(data_dir=tmp_path / "data", models_dir=tmp_path / "models",
                         sources=f"policies={policies}")


def owner(services: Services, name: str = "olga") -> dict[str, str]:
    secret, _ = services.keys.create(name, ["staff"], "content_owner")
    return {"authorization": f"Bearer {secret}"}


def ended(client: TestClient, headers: dict[str, str], job_id: str) -> dict[str, Any]:
    """The job once it has ended (polled for at most 30 s)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"{JOBS}/{job_id}", headers=headers).json()
        if job["state"] in ("done", "failed", "cancelled"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not end: {job}")


def test_a_source_job_answers_202_at_once_then_keeps_the_folder_in_sync(
    client: TestClient, services: Services, policies: Path
) -> None:
    headers = owner(services)
    created = client.post(JOBS, headers=headers, json={"source": "policies", "groups": ["staff"]})
    assert created.status_code == 202 and created.json()["state"] in ("queued", "running")
    job = ended(client, headers, created.json()["job_id"])
    assert (job["state"], job["files_total"], job["files_done"], job["counts"]) == (
        "done", 2, 2, {"ok": 2})
    assert {Path(f["path"]).name: f["status"] for f in job["files"]} == {
        "fees.jsonl": "ok", "hours.jsonl": "ok"}
    assert job["chunks"] == 2 and job["started_at"] and job["finished_at"]

    (policies / "hours.jsonl").unlink()
    (policies / "fees.jsonl").write_text(record("fees", "The wire fee is twelve euros."))
    again = ended(client, headers, client.post(
        JOBS, headers=headers, json={"source": "policies", "groups": ["staff"]}).json()["job_id"])
    assert again["counts"] == {"ok": 1, "retired": 1}
    (document,) = client.get("/v1/documents", headers=headers).json()
    assert document["title"] == "Fees" and document["version"] == 2
    history = client.get(f"/v1/documents/{document['doc_id']}/versions", headers=headers).json()
    assert [(v["version"], v["current"], v["ended"]) for v in history] == [
        (1, False, "replaced"), (2, True, None)]
    listed = client.get(JOBS, headers=headers).json()
    assert [j["job_id"] for j in listed] == [again["job_id"], job["job_id"]]
    kinds = [r.body.get("action") for r in services.audit.records()
             if r.body["kind"] == "ingest_job"]
    assert kinds == ["queued", "queued"]


def test_an_upload_job_ingests_several_files(client: TestClient, services: Services) -> None:
    headers = owner(services)
    files = [("files", ("a.jsonl", record("a", "Alpha rule.").encode(), "application/x-ndjson")),
             ("files", ("b.jsonl", record("b", "Beta rule.").encode(), "application/x-ndjson"))]
    created = client.post(JOBS, headers=headers, data={"groups": "staff"}, files=files)
    assert created.status_code == 202, created.text
    job = ended(client, headers, created.json()["job_id"])
    assert job["counts"] == {"ok": 2}
    titles = sorted(d["title"] for d in client.get("/v1/documents", headers=headers).json())
    assert titles == ["A", "B"]


@pytest.mark.parametrize(("role", "body", "status"), [
    ("employee", {"source": "policies", "groups": ["staff"]}, 403),
    ("content_owner", {"source": "policies", "groups": ["board"]}, 403),
    ("content_owner", {"source": "/etc", "groups": ["staff"]}, 422),
    ("content_owner", {"source": "policies", "groups": []}, 422),
    ("content_owner", {"source": "policies", "groups": ["staff"], "path": "/etc"}, 422),
])
def test_jobs_refused(client: TestClient, services: Services, role: str,
                      body: dict[str, Any], status: int) -> None:
    response = client.post(JOBS, headers=bearer(services, role, ("staff",)), json=body)
    assert response.status_code == status, response.text
    assert services.jobs.jobs() == []


def test_another_owners_job_looks_absent(client: TestClient, services: Services) -> None:
    mine = client.post(JOBS, headers=owner(services), json={"source": "policies",
                                                            "groups": ["staff"]}).json()
    theirs = owner(services, "theo")
    assert client.get(f"{JOBS}/{mine['job_id']}", headers=theirs).status_code == 404
    assert client.delete(f"{JOBS}/{mine['job_id']}", headers=theirs).status_code == 404
    assert client.get(JOBS, headers=theirs).json() == []
    admin = bearer(services, "admin")
    assert [j["job_id"] for j in client.get(JOBS, headers=admin).json()] == [mine["job_id"]]


def test_cancel_a_queued_job_at_once_and_a_running_one_after_its_file(
    client: TestClient, services: Services
) -> None:
    headers = owner(services)
    body = {"source": "policies", "groups": ["staff"]}
    with services.ingester._writing:  # the first job waits to write: it stays running
        first = client.post(JOBS, headers=headers, json=body).json()["job_id"]
        deadline = time.monotonic() + 10
        while services.jobs.get(first).state is not JobState.RUNNING:  # type: ignore[union-attr]
            assert time.monotonic() < deadline
            time.sleep(0.02)
        second = client.post(JOBS, headers=headers, json=body).json()["job_id"]
        assert client.delete(f"{JOBS}/{second}", headers=headers).json()["state"] == "cancelled"
        cancelling = client.delete(f"{JOBS}/{first}", headers=headers)
        assert cancelling.status_code == 202 and cancelling.json()["cancel_requested"]
    job = ended(client, headers, first)
    assert job["state"] == "cancelled" and job["files_done"] == 1  # stopped after one file
    assert len(client.get("/v1/documents", headers=headers).json()) == 1  # what it committed


def test_a_job_interrupted_by_a_killed_process_is_resumed_at_the_next_start(
    services: Services
) -> None:
    job = services.jobs.create(JobSpec("olga", "policies", (), ("staff",), sync=True))
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    services.jobs.claim(job.job_id)
    services.jobs._db.execute("UPDATE jobs SET runner_pid = ?", (gone.pid,))  # its runner died
    with TestClient(create_app(services, warm_up=False)) as http:
        resumed = ended(http, owner(services), job.job_id)
    assert resumed["state"] == "done" and resumed["note"] == "interrupted: resumed"
    assert resumed["counts"] == {"ok": 2}
