"""Coffre's Prometheus metrics: HTTP requests, the answer queue, answer timings, refusals,
audit writes. `GET /metrics` (api/http/metrics.py) serves them in the text format.

Each `Metrics` owns its registry (no process-wide default: every app built, in tests many,
has its own). Every label value is drawn from a fixed set: route templates
(`/v1/chunks/{chunk_id}`, never the path asked), HTTP methods and statuses, channels and
refusal reasons. No question, user, group or document ever becomes a label.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from time import perf_counter
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auditing import Channel
from rag.answers import Answer, RefusalReason

# The classic text format: what every Prometheus version and agent scrapes.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

# Answer times on CPU run from a refusal in tens of milliseconds (nothing relevant, the model
# not asked) to minutes for a long answer waiting behind others. Few buckets on purpose: a
# scrape is written in the event loop, and its cost grows with every bucket of every label.
ANSWER_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 180.0,
                  300.0)
# Requests: /healthz and /metrics in milliseconds, searches in tenths, answers in minutes.
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0, 30.0, 120.0, 300.0)
RETRIEVAL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# A SQLite append with its fsync: sub-millisecond on a quiet disk, more on a busy one.
AUDIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
# Decoding speed: a few tokens/s for a 1.5B model on 2 cores, hundreds on a GPU.
TOKEN_RATE_BUCKETS = (1.0, 2.0, 5.0, 10.0, 15.0, 20.0, 30.0, 50.0, 75.0, 100.0, 150.0,
                      200.0, 300.0, 500.0)

# The channels a server answers (the CLI answers in a process of its own).
SERVED = (Channel.HTTP, Channel.WEB, Channel.OPENAI, Channel.TEAMS)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"  # the route label of a path no route matched (a 404)
# A request that ended without a response: 500 when it raised (Starlette's outermost
# middleware writes that 500, outside this one), 499 when its client went away first.
FAILED, GONE = 500, 499


class AdmissionState(Protocol):
    """What the admission controller shows of itself: answers in progress, answers
    waiting, questions turned away since start-up."""

    @property
    def in_flight(self) -> int: ...

    @property
    def queued(self) -> int: ...

    @property
    def rejected(self) -> int: ...


class _AdmissionCollector:
    """Reads the admission controller at each scrape (nothing when there is none)."""

    def __init__(self, admission: AdmissionState | None) -> None:
        self.admission = admission

    def describe(self) -> Iterable[Metric]:
        """The names it exports, for the registry's duplicate check."""
        return self._families(0, 0, 0)

    def collect(self) -> Iterable[Metric]:
        """The controller's counts now."""
        admission = self.admission
        if admission is None:
            return []
        return self._families(admission.in_flight, admission.queued, admission.rejected)

    @staticmethod
    def _families(in_flight: int, queued: int, rejected: int) -> list[Metric]:
        return [
            GaugeMetricFamily("coffre_answers_in_progress",
                              "Answers holding a slot of the answer model now", in_flight),
            GaugeMetricFamily("coffre_answer_queue_depth",
                              "Questions waiting for an answer slot now", queued),
            CounterMetricFamily("coffre_answers_rejected",
                                "Questions turned away busy (429) since start-up", rejected),
        ]


class Metrics:
    """Every metric Coffre exports, in its own registry."""

    def __init__(self, registry: CollectorRegistry,
                 admission: AdmissionState | None = None) -> None:
        self.registry = registry
        registry.register(_AdmissionCollector(admission))
        self.requests = Counter("coffre_http_requests", "HTTP requests answered",
                                ("method", "route", "status"), registry=registry)
        self.in_flight = Gauge("coffre_http_requests_in_flight",
                               "HTTP requests being served now", registry=registry)
        self.request_seconds = Histogram(
            "coffre_http_request_duration_seconds",
            "Time from a request's arrival to the end of its response (a stream's end)",
            ("route",), buckets=REQUEST_BUCKETS, registry=registry)
        self._answer_metrics(registry)

    def _answer_metrics(self, registry: CollectorRegistry) -> None:
        def histogram(name: str, text: str, buckets: tuple[float, ...]) -> Histogram:
            return Histogram(name, text, ("channel",), buckets=buckets, registry=registry)

        self.answers = Counter("coffre_answers", "Answers put on the record",
                               ("channel", "outcome"), registry=registry)
        self.first_token = histogram(
            "coffre_answer_first_token_seconds",
            "From the start of an answer to its first token (a refusal: its end)",
            ANSWER_BUCKETS)
        self.first_sentence = histogram(
            "coffre_answer_first_sentence_seconds",
            "From the start of an answer to its first checked sentence", ANSWER_BUCKETS)
        self.answer_seconds = histogram(
            "coffre_answer_duration_seconds", "Whole answers, checks included", ANSWER_BUCKETS)
        self.token_rate = histogram(
            "coffre_answer_tokens_per_second", "Decoding speed of each answer",
            TOKEN_RATE_BUCKETS)
        self.retrieval = histogram(
            "coffre_retrieval_duration_seconds", "Retrieval of an answer's passages",
            RETRIEVAL_BUCKETS)
        self.refusals = Counter("coffre_refusals", "Answers that became \"I don't know\"",
                                ("channel", "reason"), registry=registry)
        self.interrupted = Counter(
            "coffre_answers_interrupted", "Answers cut short by a client that went away",
            ("channel",), registry=registry)
        self.audit_write = Histogram(
            "coffre_audit_write_seconds", "Appending one answer's record to the audit trail",
            buckets=AUDIT_BUCKETS, registry=registry)
        for channel in SERVED:  # known series start at zero, so rates exist from the start
            self.interrupted.labels(channel.value)
            for reason in RefusalReason:
                self.refusals.labels(channel.value, reason.value)

    def request_done(self, scope: Mapping[str, Any], status: int, seconds: float) -> None:
        """Count one HTTP request under its route template, its method and status."""
        route = route_template(scope)
        method = scope.get("method", "")
        self.requests.labels(method if method in METHODS else "other", route,
                             str(status)).inc()
        self.request_seconds.labels(route).observe(seconds)

    def answered(self, channel: Channel, answer: Answer) -> None:
        """Observe an answer just put on the record: its timings, its refusal if it is one."""
        label = channel.value
        timings = answer.timings
        self.answers.labels(label, "refused" if answer.refused else "answered").inc()
        self.retrieval.labels(label).observe(timings.retrieval_s)
        self.answer_seconds.labels(label).observe(timings.total_s)
        if timings.first_token_s is not None:
            self.first_token.labels(label).observe(timings.first_token_s)
        if timings.first_sentence_s is not None:
            self.first_sentence.labels(label).observe(timings.first_sentence_s)
        if timings.decode_s and timings.answer_tokens:
            self.token_rate.labels(label).observe(timings.answer_tokens / timings.decode_s)
        if answer.refused:
            reason = answer.refusal_reason.value if answer.refusal_reason else "other"
            self.refusals.labels(label, reason).inc()

    def answer_interrupted(self, channel: Channel) -> None:
        """Count an answer whose client went away before its end."""
        self.interrupted.labels(channel.value).inc()

    @contextmanager
    def timing_audit_write(self) -> Iterator[None]:
        """Observe how long the block (one audit append) takes, failed or not."""
        started = perf_counter()
        try:
            yield
        finally:
            self.audit_write.observe(perf_counter() - started)

    def exposition(self) -> bytes:
        """Every metric now, in the Prometheus text format (fast: no I/O, no waiting)."""
        return generate_latest(self.registry)


def route_template(scope: Mapping[str, Any]) -> str:
    """The template of the route that served a request (`/v1/chunks/{chunk_id}`): the
    router leaves it in the scope; a path no route matched gets one label for all."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


class MetricsMiddleware:
    """Counts, times and tracks in flight every HTTP request (pure ASGI: a streamed answer
    goes through untouched, message by message, and is timed to its end)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request, noting its status as it is sent."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status: int | None = None

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        started = perf_counter()
        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, sending)
        except asyncio.CancelledError:
            status = status or GONE
            raise
        finally:
            self.metrics.in_flight.dec()
            self.metrics.request_done(scope, status or FAILED, perf_counter() - started)


def fresh_metrics(admission: AdmissionState | None = None) -> Metrics:
    """Metrics in a registry of their own, with this admission controller's counts."""
    return Metrics(CollectorRegistry(), admission)
