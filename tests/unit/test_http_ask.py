"""`POST /v1/ask` through the real app and wiring, fake models: JSON, streaming, access."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient

from api.auditing import Channel
from api.auth import Identity
from api.http.answering import Asked
from api.http.ask import _sse
from api.http.deps import caller
from api.wiring import Services
from indexes.errors import AuditError
from rag.answers import AnswerEvent, DraftText, Query
from rag.errors import GenerationError, ModelBusyError
from rag.generation import GenerationConfig
from tests.unit.fakes import FakeGenerator
from tests.unit.http_kit import LTV_ANSWER, LTV_QUESTION, bearer, library


def _events(text: str) -> list[tuple[str, dict[str, object]]]:
    """(event, data) of a server-sent event stream."""
    events, name = [], ""
    for line in text.splitlines():
        if line.startswith("event:"):
            name = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            events.append((name, json.loads(line.split(":", 1)[1].strip())))
    return events


def _asks(services: Services) -> list[dict[str, Any]]:
    return [r.body for r in services.audit.records() if r.body["kind"] == "ask"]


def test_an_answer_is_cited_timed_and_audited(client: TestClient, services: Services) -> None:
    library(services)
    headers = bearer(services, "employee", ("lending",))
    body = client.post("/v1/ask", json={"question": LTV_QUESTION}, headers=headers).json()
    assert not body["refused"] and "70 percent" in body["answer"]
    assert body["citations"][0]["title"] == "Retail Credit Policy"
    assert body["model"] == "fake-llm" and body["refusal_reason"] is None
    assert {"retrieval_s", "total_s"} <= set(body["timings"])
    assert all(s["verified"] for s in body["sentences"])
    [record] = _asks(services)
    assert record["channel"] == "http" and record["user"] == "employee-user"
    assert record["answer"] == body["answer"] and record["model_sha256"] is None
    assert record["cited"][0]["document"] == "/docs/Retail Credit Policy.txt"
    assert record["generation"]["max_tokens"] == services.settings.max_answer_tokens


def test_a_caller_never_gets_an_answer_from_a_group_they_lack(
    client: TestClient, services: Services
) -> None:
    library(services)
    body = client.post("/v1/ask", json={"question": LTV_QUESTION},
                       headers=bearer(services, "employee", ("retail",))).json()
    assert body["refused"] and body["refusal_reason"] == "relevance"
    assert all(s["document"]["title"] != "Retail Credit Policy" for s in body["sources"])


def test_request_filters_narrow_the_sources(client: TestClient, services: Services) -> None:
    ids = library(services).doc_ids
    headers = bearer(services, "admin")
    body = client.post("/v1/ask", headers=headers, json={
        "question": LTV_QUESTION, "filters": {"documents": [ids["cards"]]}}).json()
    assert {s["document"]["doc_id"] for s in body["sources"]} <= {ids["cards"]}


def test_streaming_sends_drafts_checked_sentences_then_one_answer(
    client: TestClient, services: Services
) -> None:
    library(services)
    headers = bearer(services, "employee", ("lending",))
    with client.stream("POST", "/v1/ask", headers=headers,
                       json={"question": LTV_QUESTION, "stream": True}) as response:
        assert response.status_code == 200
        events = _events(response.read().decode())
    names = [name for name, _ in events]
    assert names[-1] == "answer" and set(names[:-1]) == {"draft", "sentence"}
    answer = events[-1][1]
    assert "".join(str(data["text"]) for name, data in events if name == "draft") == LTV_ANSWER
    sentences = [data for name, data in events if name == "sentence"]
    assert sentences == [{"index": c["index"], "text": c["text"] + " [1]", "verified": True}
                         for c in answer["sentences"]]  # type: ignore[union-attr]
    assert not answer["refused"] and "70 percent" in str(answer["answer"])
    [record] = _asks(services)
    assert record["answer"] == answer["answer"] and "interrupted" not in record


class _Failing(FakeGenerator):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def stream(self, messages: list[dict[str, str]], config: GenerationConfig) -> Iterator[str]:
        raise self.error
        yield ""  # pragma: no cover


@pytest.mark.parametrize(("error", "status", "header"), [
    (GenerationError("the answer model failed"), 503, None),
    (ModelBusyError(5), 503, "30"),
])
def test_a_model_failure_maps_to_its_status_and_headers(
    services: Services, error: Exception, status: int, header: str | None
) -> None:
    from api.app import create_app
    from api.wiring import build_services

    failing = build_services(services.settings.model_copy(update={
        "data_dir": services.settings.data_dir / "failing"}), embedder=services.embedder,
        generator=_Failing(error))
    library(failing)
    with TestClient(create_app(failing, warm_up=False)) as http:
        headers = bearer(failing, "employee", ("lending",))
        response = http.post("/v1/ask", json={"question": LTV_QUESTION}, headers=headers)
        assert response.status_code == status
        assert response.json() == {"detail": str(error)}
        assert response.headers.get("retry-after") == header
        streamed = http.post("/v1/ask", json={"question": LTV_QUESTION, "stream": True},
                             headers=headers)
    assert _events(streamed.text) == [("error", {"detail": str(error)})]
    failing.close()


def test_no_credentials_bad_credentials_and_no_role(
    client: TestClient, services: Services
) -> None:
    missing = client.post("/v1/ask", json={"question": "x"})
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    wrong = client.post("/v1/ask", json={"question": "x"},
                        headers={"authorization": "Bearer cof_nope_nope"})
    assert wrong.status_code == 401
    client.app.dependency_overrides[caller] = lambda: Identity(  # type: ignore[attr-defined]
        "v", frozenset(), frozenset({"visitor"}), "jwt")
    forbidden = client.post("/v1/ask", json={"question": "x"})
    assert forbidden.status_code == 403
    assert "employee or content_owner or compliance" in forbidden.json()["detail"]
    assert _asks(services) == []


def test_a_stream_whose_record_fails_ends_with_an_error_event(
    client: TestClient, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    library(services)
    headers = bearer(services, "employee", ("lending",))

    def refuse(*_: object) -> None:
        raise AuditError("the audit trail cannot be written")

    monkeypatch.setattr(services.audit, "append", refuse)
    response = client.post("/v1/ask", json={"question": LTV_QUESTION, "stream": True},
                           headers=headers)
    events = _events(response.text)
    assert events[-1] == ("error", {"detail": "the audit trail cannot be written"})
    assert "answer" not in [name for name, _ in events]


def test_a_client_gone_mid_answer_closes_the_stream_and_is_audited(
    services: Services,
) -> None:
    closed: list[bool] = []

    def answer() -> Iterator[AnswerEvent]:
        try:
            yield DraftText("The maximum ")
            yield DraftText("is 70 percent.")
        finally:
            closed.append(True)

    identity = Identity("ines", frozenset({"lending"}), frozenset({"employee"}), "api_key")

    async def first_token_then_leave() -> None:
        asked = Asked(services, identity, Channel.HTTP, Query("What is the LTV?"))
        stream = _sse(asked, answer())
        first = await stream.__anext__()
        assert first["event"] == "draft"
        await stream.aclose()  # what sse-starlette does when the client disconnects

    anyio.run(first_token_then_leave)
    assert closed == [True]
    [record] = _asks(services)
    assert record["interrupted"] is True and record["sent"] == "The maximum "
    assert record["question"] == "What is the LTV?" and record["model"] == "fake-llm"
