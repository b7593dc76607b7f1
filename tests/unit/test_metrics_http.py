"""`GET /metrics` through the real app and wiring, fake models: the text parses, requests
count by route template and status, answers by their timings and refusals, no label holds
a question or a user, COFFRE_METRICS=false removes it, and it answers (with /healthz) over
real HTTP while the answer model is held.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from api.app import create_app
from api.auditing import Channel
from api.auth import Identity
from api.http.answering import Asked
from api.http.ask import _sse
from api.metrics import Metrics
from api.settings import load_settings
from api.wiring import Services, build_services
from rag.answers import AnswerEvent, DraftText, Query
from rag.generation import GenerationConfig, Purpose
from tests.unit.fakes import FakeEmbedder, FakeGenerator
from tests.unit.http_kit import LTV_ANSWER, LTV_QUESTION, bearer, library

# Every label Coffre's metrics may have: each of them takes its values from a fixed set.
LABELS = {"method", "route", "status", "channel", "outcome", "reason", "le"}


def _parsed(text: str) -> list[Sample]:
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


def _samples(client: TestClient | httpx.Response) -> list[Sample]:
    """The samples a GET /metrics answered (made now through `client`)."""
    response = client if isinstance(client, httpx.Response) else client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return _parsed(response.text)


def _value(samples: list[Sample], name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels` (0 when none)."""
    return sum(s.value for s in samples
               if s.name == name and labels.items() <= s.labels.items())


def test_requests_count_under_their_route_template_and_status(
    client: TestClient, services: Services
) -> None:
    chunk_id = library(services).chunk_ids["policy"]
    headers = bearer(services, "admin")
    assert client.post("/v1/ask", json={"question": LTV_QUESTION},
                       headers=headers).status_code == 200
    assert client.get(f"/v1/chunks/{chunk_id}", headers=headers).status_code == 200
    assert client.get("/v1/chunks/no-such-chunk", headers=headers).status_code == 404
    assert client.post("/v1/ask", json={"question": LTV_QUESTION}).status_code == 401
    assert client.get(f"/no/such/{chunk_id}").status_code == 404
    samples = _samples(client)
    requests = "coffre_http_requests_total"
    assert _value(samples, requests, method="POST", route="/v1/ask", status="200") == 1
    assert _value(samples, requests, route="/v1/ask", status="401") == 1
    assert _value(samples, requests, route="/v1/chunks/{chunk_id}", status="200") == 1
    assert _value(samples, requests, route="/v1/chunks/{chunk_id}", status="404") == 1
    assert _value(samples, requests, route="unmatched", status="404") == 1
    assert _value(samples, "coffre_http_request_duration_seconds_count",
                  route="/v1/ask") == 2
    assert _value(samples, "coffre_http_requests_in_flight") == 1  # this scrape
    assert all(chunk_id not in value for s in samples for value in s.labels.values())


def test_answers_and_refusals_move_their_timings_and_counters(
    client: TestClient, services: Services
) -> None:
    library(services)
    headers = bearer(services, "employee", ("lending",))
    streamed = client.post("/v1/ask", json={"question": LTV_QUESTION, "stream": True},
                           headers=headers)
    assert "event: answer" in streamed.text
    refused = client.post("/v1/ask", json={"question": "Who painted the lunar zebra?"},
                          headers=headers).json()
    assert refused["refused"] and refused["refusal_reason"] == "relevance"
    samples = _samples(client)
    http = {"channel": "http"}
    assert _value(samples, "coffre_answers_total", outcome="answered", **http) == 1
    assert _value(samples, "coffre_answers_total", outcome="refused", **http) == 1
    for timing in ("first_token", "duration"):
        assert _value(samples, f"coffre_answer_{timing}_seconds_count", **http) == 2
    assert _value(samples, "coffre_answer_first_token_seconds_bucket", le="300.0",
                  **http) == 2
    assert _value(samples, "coffre_answer_first_sentence_seconds_count", **http) == 1
    assert _value(samples, "coffre_answer_tokens_per_second_count", **http) == 1
    assert _value(samples, "coffre_answer_tokens_per_second_sum", **http) > 0
    assert _value(samples, "coffre_retrieval_duration_seconds_count", **http) == 2
    assert _value(samples, "coffre_refusals_total", reason="relevance", **http) == 1
    assert _value(samples, "coffre_refusals_total", reason="answer-check", **http) == 0
    assert _value(samples, "coffre_audit_write_seconds_count") == 2
    assert _value(samples, "coffre_audit_write_seconds_sum") > 0


def test_an_answer_cut_short_is_counted_interrupted(services: Services) -> None:
    def answer() -> Iterator[AnswerEvent]:
        yield DraftText("The maximum ")
        yield DraftText("is 70 percent.")

    identity = Identity("ines", frozenset({"lending"}), frozenset({"employee"}), "api_key")

    async def first_token_then_leave() -> None:
        stream = _sse(Asked(services, identity, Channel.WEB, Query("What is the LTV?")),
                      answer())
        await stream.__anext__()
        await stream.aclose()

    anyio.run(first_token_then_leave)
    registry = services.metrics.registry
    assert registry.get_sample_value("coffre_answers_interrupted_total",
                                     {"channel": "web"}) == 1
    assert registry.get_sample_value("coffre_answers_interrupted_total",
                                     {"channel": "http"}) == 0


def test_no_label_holds_a_question_a_user_or_a_conversation(
    client: TestClient, services: Services
) -> None:
    ids = library(services)
    secret, _ = services.keys.create("zoe.martin", ["lending"], "employee")
    headers = {"authorization": f"Bearer {secret}"}
    question = "What is the maximum loan-to-value for a buy-to-let mortgage, Zoe asks?"
    client.post("/v1/ask", headers=headers, json={
        "question": question, "conversation_id": "conv-4242", "stream": True})
    client.post("/v1/chat/completions", headers=headers, json={
        "model": "coffre", "messages": [{"role": "user", "content": question}]})
    samples = _samples(client)
    assert _value(samples, "coffre_answers_total", channel="openai") == 1
    values = {value for s in samples for value in s.labels.values()}
    forbidden = ["zoe", "Zoe", "lending", "conv-4242", "loan", secret[:12],
                 *ids.doc_ids.values(), *ids.chunk_ids.values()]
    assert not [word for word in forbidden for value in values if word in value]
    assert {name for s in samples for name in s.labels} <= LABELS


@dataclass(frozen=True)
class _Admission:
    in_flight: int
    queued: int
    rejected: int


def test_the_admission_controllers_slots_queue_and_rejections_are_exported(
    client: TestClient,
) -> None:
    served = _samples(client)  # the app's own controller, at rest
    assert _value(served, "coffre_answers_in_progress") == 0
    assert _value(served, "coffre_answer_queue_depth") == 0
    assert _value(served, "coffre_answers_rejected_total") == 0
    metrics = Metrics(CollectorRegistry(), _Admission(in_flight=1, queued=5, rejected=7))
    samples = _parsed(metrics.exposition().decode())
    assert _value(samples, "coffre_answers_in_progress") == 1
    assert _value(samples, "coffre_answer_queue_depth") == 5
    assert _value(samples, "coffre_answers_rejected_total") == 7
    alone = Metrics(CollectorRegistry()).exposition().decode()
    assert "coffre_answer_queue_depth" not in alone  # no controller, no figure made up


def test_metrics_off_is_a_404_and_health_still_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COFFRE_METRICS", "false")
    settings = load_settings(data_dir=tmp_path / "data", models_dir=tmp_path / "models")
    assert settings.metrics is False
    services = build_services(settings, embedder=FakeEmbedder(), generator=FakeGenerator())
    with TestClient(create_app(services, warm_up=False)) as http:
        assert http.get("/metrics").status_code == 404
        assert http.get("/healthz").json() == {"status": "ok"}
    services.close()


class _HeldModel(FakeGenerator):
    """Answers only once `release` is set; `holding` is set when an answer waits on it."""

    def __init__(self) -> None:
        super().__init__([LTV_ANSWER])
        self.holding = threading.Event()
        self.release = threading.Event()

    def stream(self, messages: list[dict[str, str]], config: GenerationConfig) -> Iterator[str]:
        if config.purpose is Purpose.ANSWER:
            self.holding.set()
            self.release.wait(timeout=60)
        yield from super().stream(messages, config)


@contextmanager
def _serving(app: object) -> Iterator[str]:
    """The app served by uvicorn on a loopback port, in a thread."""
    # Named TCP, as uvicorn's own sockets are: asyncio then sets TCP_NODELAY on each
    # connection, as it does under `coffre serve`.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))  # type: ignore[arg-type]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


async def _held_asks_then_probes(url: str, model: _HeldModel, services: Services,
                                 headers: dict[str, str], asks: int) -> list[httpx.Response]:
    """Start `asks` streamed questions, wait until the model holds one and the others fill
    the queue, then 60 concurrent /healthz and /metrics and one question too many; release
    the model last."""
    answers: list[str] = []
    registry = services.metrics.registry
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:

        async def ask() -> None:
            body = {"question": LTV_QUESTION, "stream": True}
            async with http.stream("POST", "/v1/ask", json=body, headers=headers) as response:
                answers.append((await response.aread()).decode())

        probes: list[httpx.Response] = []

        async def probe(path: str) -> None:
            probes.append(await http.get(path))

        async with anyio.create_task_group() as asking:
            for _ in range(asks):
                asking.start_soon(ask)
            with anyio.fail_after(30):
                while not model.holding.is_set() or registry.get_sample_value(
                        "coffre_answer_queue_depth") != asks - 1:
                    await anyio.sleep(0.01)
            # Every probe answers while the model is held: it is released only after them.
            with anyio.fail_after(20):
                async with anyio.create_task_group() as probing:
                    for index in range(60):
                        probing.start_soon(probe, "/metrics" if index % 2 else "/healthz")
            busy = await http.post("/v1/ask", json={"question": LTV_QUESTION}, headers=headers)
            assert busy.status_code == 429 and int(busy.headers["retry-after"]) >= 1
            model.release.set()
    assert len(answers) == asks and all("event: answer" in text for text in answers)
    return probes


def test_health_and_metrics_answer_while_the_model_is_held(tmp_path: Path) -> None:
    model = _HeldModel()
    asks = 3  # one answering, the others filling the queue
    settings = load_settings(data_dir=tmp_path / "data", models_dir=tmp_path / "models",
                             answer_queue=asks - 1)
    services = build_services(settings, embedder=FakeEmbedder(), generator=model)
    library(services)
    headers = bearer(services, "employee", ("lending",))
    try:
        with _serving(create_app(services, warm_up=False)) as url:
            probes = anyio.run(_held_asks_then_probes, url, model, services, headers, asks)
    finally:
        model.release.set()
        services.close()
    assert len(probes) == 60 and all(p.status_code == 200 for p in probes)
    assert all(p.json() == {"status": "ok"} for p in probes if p.url.path == "/healthz")
    scraped = [_samples(p) for p in probes if p.url.path == "/metrics"]
    # Each scrape saw the held questions: one answering (the fake model's one slot), the
    # others queued, all of them in flight, and itself.
    assert all(_value(s, "coffre_answers_in_progress") == 1 for s in scraped)
    assert all(_value(s, "coffre_answer_queue_depth") == asks - 1 for s in scraped)
    assert all(_value(s, "coffre_http_requests_in_flight") >= asks + 1 for s in scraped)
    after = _parsed(services.metrics.exposition().decode())
    assert _value(after, "coffre_http_requests_total", route="/v1/ask", status="429") == 1
    assert _value(after, "coffre_http_requests_total", route="/v1/ask", status="200") == asks
    assert _value(after, "coffre_answers_rejected_total") == 1
