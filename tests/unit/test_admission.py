"""Admission control: bounded answers in progress and queue, 429 with Retry-After from the
measured answer time, a queued client that leaves frees its place, searches never wait."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.admission import Admission, AdmissionConfig
from api.app import create_app
from api.errors import QueueTimeoutError, TooBusyError
from api.settings import Settings
from api.wiring import Services, build_services
from rag.generation import GenerationConfig, Purpose
from tests.unit.fakes import FakeEmbedder, FakeGenerator
from tests.unit.http_kit import LTV_ANSWER, LTV_QUESTION, bearer, chat, library


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _admission(slots: int = 1, queue: int = 1, wait_s: float = 60.0,
               service_s: float = 10.0) -> tuple[Admission, _Clock]:
    clock = _Clock()
    return Admission(AdmissionConfig(slots, queue, wait_s, service_s), lambda: 99, clock), clock


def test_past_the_slots_and_the_queue_a_question_is_told_when_to_come_back() -> None:
    admission, clock = _admission(slots=1, queue=1, service_s=10.0)

    async def scenario() -> None:
        async with admission.admit():
            queued = asyncio.create_task(_hold(admission))
            await asyncio.sleep(0)
            assert (admission.in_flight, admission.queued) == (1, 1)
            with pytest.raises(TooBusyError) as busy:
                admission.admit()
            # Two answers ahead of it (one running, one queued) and its own, 10 s each.
            assert busy.value.headers == {"Retry-After": "30"}
            assert busy.value.http_status == 429 and "COFFRE_ANSWER_QUEUE" in str(busy.value)
            clock.now = 4.0  # this answer held its slot 4 s
        await queued
        assert (admission.in_flight, admission.queued, admission.rejected) == (0, 0, 1)
        # Measured times replace the estimate: 4 s, then 0 s for the queued one (weight 0.3).
        assert admission.service.measured == 2
        assert admission.service.mean_s == pytest.approx(2.8)
        assert admission.retry_after() == 3

    asyncio.run(scenario())


async def _hold(admission: Admission) -> None:
    async with admission.admit():
        await asyncio.sleep(0)


def test_the_configured_slots_win_over_the_generators_capacity_else_it_decides() -> None:
    assert Admission(AdmissionConfig(capacity=3), lambda: 1).slots == 3
    assert Admission(AdmissionConfig(capacity=0), lambda: 2).slots == 2


def test_a_queued_question_whose_client_leaves_frees_its_place_at_once() -> None:
    admission, _ = _admission(slots=1, queue=2)

    async def scenario() -> None:
        async with admission.admit():
            gone = asyncio.create_task(_hold(admission))
            kept = asyncio.create_task(_hold(admission))
            await asyncio.sleep(0)
            assert admission.queued == 2
            gone.cancel()
            await asyncio.wait([gone])
            assert admission.queued == 1 and gone.cancelled()
        await asyncio.wait_for(kept, 5)  # the freed slot went to the one still waiting
        assert (admission.in_flight, admission.queued) == (0, 0)

    asyncio.run(scenario())


def test_a_question_queued_past_its_deadline_is_a_503_with_retry_after() -> None:
    # The estimate says it would be in time (0.01 s), the answer ahead takes longer.
    admission, _ = _admission(slots=1, queue=1, wait_s=0.05, service_s=0.01)

    async def scenario() -> None:
        async with admission.admit():
            with pytest.raises(QueueTimeoutError) as late:
                await _hold(admission)
            assert late.value.http_status == 503 and "Retry-After" in late.value.headers
            assert admission.queued == 0
        assert admission.in_flight == 0

    asyncio.run(scenario())


def test_a_question_that_would_wait_past_the_deadline_is_refused_before_it_queues() -> None:
    # Answers take 30 s, one slot, a 2-minute wait limit, room for 10 in the queue: the
    # fourth queued question would wait 4 x 30 s, so it is told to come back instead of
    # being given a stream that ends in a queue timeout.
    admission, clock = _admission(slots=1, queue=10, wait_s=120.0, service_s=30.0)

    async def scenario() -> None:
        async with admission.admit():
            waiting = [asyncio.create_task(_hold(admission)) for _ in range(3)]
            await asyncio.sleep(0)
            assert admission.queued == 3
            with pytest.raises(TooBusyError) as busy:
                admission.admit()
            assert busy.value.would_wait_s == pytest.approx(120.0)
            assert busy.value.headers == {"Retry-After": "150"}
            assert "COFFRE_QUEUE_WAIT_S" in str(busy.value)
            assert admission.rejected == 1 and admission.queued == 3
            clock.now = 1.0  # measured: answers take 1 s, not 30
        await asyncio.gather(*waiting)
        assert admission.service.mean_s < 30.0
        # Faster answers measured: the same queue depth is admitted again.
        async with admission.admit():
            more = [asyncio.create_task(_hold(admission)) for _ in range(4)]
            await asyncio.sleep(0)
            assert admission.queued == 4
        await asyncio.gather(*more)

    asyncio.run(scenario())


def test_two_slots_halve_the_expected_wait() -> None:
    admission, _ = _admission(slots=2, queue=10, wait_s=120.0, service_s=30.0)
    assert admission.expected_wait_s() == pytest.approx(15.0)


class _HeldGenerator(FakeGenerator):
    """Answers only once `go` is set (a model busy with a long answer)."""

    def __init__(self) -> None:
        super().__init__([LTV_ANSWER])
        self.go = threading.Event()
        self.started = threading.Semaphore(0)

    def stream(self, messages: list[dict[str, str]], config: GenerationConfig) -> Iterator[str]:
        if config.purpose is Purpose.ANSWER and messages[-1]["role"] != "assistant":
            self.started.release()
            assert self.go.wait(30)
        yield from super().stream(messages, config)


@pytest.fixture
def held() -> _HeldGenerator:
    return _HeldGenerator()


@pytest.fixture
def busy_services(coffre_settings: Settings, embedder: FakeEmbedder,
                  held: _HeldGenerator) -> Iterator[Services]:
    settings = coffre_settings.model_copy(update={"answer_queue": 1})
    built = build_services(settings, embedder=embedder, generator=held)
    library(built)
    yield built
    built.close()


def _in_thread(call: Any) -> tuple[threading.Thread, list[Any]]:
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(call()), daemon=True)
    thread.start()
    return thread, result


def test_over_http_a_full_queue_is_a_429_on_every_answer_route_and_searches_go_on(
    busy_services: Services, held: _HeldGenerator
) -> None:
    headers = bearer(busy_services, "employee", ("lending",))
    with TestClient(create_app(busy_services, warm_up=False)) as http:
        ask = {"question": LTV_QUESTION}
        first, answered = _in_thread(lambda: http.post("/v1/ask", json=ask, headers=headers))
        assert held.started.acquire(timeout=10)  # the first holds the one slot
        second, queued = _in_thread(lambda: http.post(
            "/v1/ask", json={**ask, "stream": True}, headers=headers))
        _until(lambda: busy_services.admission.queued == 1)
        refused = http.post("/v1/ask", json=ask, headers=headers)
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        assert "ask again in" in refused.json()["detail"]
        openai = http.post("/v1/chat/completions", json=chat(LTV_QUESTION), headers=headers)
        assert openai.status_code == 429 and openai.headers["retry-after"]
        assert openai.json()["error"]["code"] == "rate_limit_exceeded"
        # Searching never waits behind answers.
        found = http.post("/v1/search", json={"query": "loan-to-value"}, headers=headers)
        assert found.status_code == 200 and found.json()["results"]
        held.go.set()
        first.join(10)
        second.join(10)
    assert answered[0].status_code == 200 and not answered[0].json()["refused"]
    assert queued[0].status_code == 200 and "event: answer" in queued[0].text
    asks = [r.body for r in busy_services.audit.records() if r.body["kind"] == "ask"]
    assert len(asks) == 2  # the refused ones were never answered, so never recorded


def _until(condition: Any, seconds: float = 10.0) -> None:
    event = threading.Event()
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        event.wait(0.01)
    raise AssertionError("condition not reached")


def test_a_streaming_client_gone_while_queued_leaves_the_queue_and_is_on_the_record(
    busy_services: Services,
) -> None:
    from api.auditing import Channel
    from api.auth import Identity
    from api.http.answering import Asked
    from api.http.ask import _sse
    from rag.answers import Query

    identity = Identity("ines", frozenset({"lending"}), frozenset({"employee"}), "api_key")
    asked = Asked(busy_services, identity, Channel.HTTP, Query(LTV_QUESTION))
    admission = busy_services.admission

    async def queued_then_gone() -> None:
        async with admission.admit():  # another answer holds the one slot
            stream = _sse(asked, busy_services.answerer.stream(asked.query))
            waiting = asyncio.create_task(stream.__anext__())
            while admission.queued == 0:
                await asyncio.sleep(0.01)
            waiting.cancel()  # what sse-starlette does when the client disconnects
            await asyncio.wait([waiting])
            assert admission.queued == 0
            await stream.aclose()

    asyncio.run(queued_then_gone())
    assert (admission.in_flight, admission.queued) == (0, 0)
    [record] = [r.body for r in busy_services.audit.records() if r.body["kind"] == "ask"]
    assert record["interrupted"] is True and record["sent"] == ""


def test_a_ticket_dropped_unused_gives_its_slot_or_its_place_back() -> None:
    admission, _ = _admission(slots=1, queue=1)

    async def scenario() -> None:
        held = admission.admit()  # a slot at once, never used (a response that never started)
        queued = admission.admit()
        assert (admission.in_flight, admission.queued) == (1, 1)
        del queued  # collected: its place in the queue is given back
        assert admission.queued == 0
        del held  # collected: its slot is free again
        await asyncio.sleep(0)
        assert admission.in_flight == 0
        async with admission.admit() as ticket:
            assert not ticket.queued

    asyncio.run(scenario())


def test_the_place_taken_before_the_response_is_the_one_the_answer_uses() -> None:
    admission, _ = _admission(slots=1, queue=1)

    async def scenario() -> None:
        first, second = admission.admit(), admission.admit()
        with pytest.raises(TooBusyError):  # the queue is full from the moment of admission
            admission.admit()
        async with first:
            waiting = asyncio.create_task(_use(second))
            await asyncio.sleep(0)
        await asyncio.wait_for(waiting, 5)
        assert (admission.in_flight, admission.queued, admission.rejected) == (0, 0, 1)

    asyncio.run(scenario())


async def _use(ticket: Any) -> None:
    async with ticket:
        await asyncio.sleep(0)
