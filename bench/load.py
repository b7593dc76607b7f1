"""Employees arriving together: N users each ask one streamed question at the same moment.

Ingests the demo corpus into a throwaway data directory, serves the real app with uvicorn on
loopback with the configured answer model (`--model`, a catalogue name, else the default),
measures one bare llama-cpp-python stream on the prompts of the first questions, then sends
`--users` streamed `/v1/ask` at once (one demo question each) while a side task polls
`/healthz` and `/metrics`. Prints one result block, every figure from this run:

- time to first draft token of the admitted questions (p50, p95), answers per minute;
- rejections (429, with their Retry-After), errors (anything but a clean 429 or an
  answer: a 503, an `error` event, a broken stream), questions unfinished at `--deadline`;
- `/healthz` and `/metrics` p95 while loaded, the deepest answer queue `/metrics` showed;
- aggregate tokens/s under load (answer tokens of every answer over the wall time) against
  one bare stream, and their ratio.

The clients share the server's process and its 2 cores, as a bench on one machine must:
the health times are an upper bound of what a separate scraper would see.

    .venv/bin/python bench/load.py --users 50 --model smollm2-135m
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import re
import socket
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn

from api.app import create_app
from api.settings import load_settings
from api.wiring import Services, build_services
from rag.generation import closing_stream
from rag.prompt import build_prompt

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "bench" / "demo" / "corpus"
QUESTIONS = ROOT / "bench" / "demo" / "questions.jsonl"
QUEUE_LINE = re.compile(r"^coffre_answer_queue_depth (\S+)$", re.MULTILINE)


@dataclass(frozen=True)
class Outcome:
    """What one user got: an answer, a rejection (429), an error, or nothing in time."""

    kind: str  # "answer", "rejected", "error", "unfinished"
    ended_s: float = 0.0  # from the start of the load
    first_token_s: float | None = None
    tokens: int = 0
    refused: bool = False
    retry_after: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class Polled:
    """A side task's response times, failures, and the deepest queue /metrics showed."""

    seconds: list[float]
    failures: int
    deepest_queue: float | None


def questions(count: int) -> list[str]:
    """`count` demo questions, the set repeated when it is shorter."""
    lines = [json.loads(line)["question"]
             for line in QUESTIONS.read_text().splitlines() if line.strip()]
    return [lines[i % len(lines)] for i in range(count)]


def bare_rate(services: Services, asked: list[str]) -> float:
    """Tokens/s of the bare model streaming the prompts of `asked`, one at a time (from the
    first token to the last, as answers' `decode_s` counts)."""
    generator, config = services.generator, services.answerer.config
    tokens, seconds = 0, 0.0
    for question in asked:
        hits = services.searcher.search(question, config.top_k).hits
        prompt = build_prompt(question, hits,
                              budget_tokens=generator.context_size - config.generation.max_tokens,
                              count_tokens=generator.count_tokens)
        first: float | None = None
        with closing_stream(generator.stream(prompt.messages, config.generation)) as pieces:
            for _ in pieces:
                first = first if first is not None else time.perf_counter()
                tokens += 1
        if first is not None:
            seconds += time.perf_counter() - first
    return tokens / seconds if seconds else float("nan")


async def one_user(http: httpx.AsyncClient, question: str, began: float) -> Outcome:
    """Ask one streamed question and read it to its end."""
    started = time.perf_counter()
    try:
        async with http.stream("POST", "/v1/ask",
                               json={"question": question, "stream": True}) as response:
            if response.status_code != 200:
                body = (await response.aread()).decode(errors="replace")[:120]
                kind = "rejected" if response.status_code == 429 else "error"
                return Outcome(kind, time.perf_counter() - began,
                               retry_after=response.headers.get("retry-after"),
                               detail=f"{response.status_code} {body}")
            return await _read_answer(response, started, began)
    except httpx.HTTPError as exc:
        return Outcome("error", time.perf_counter() - began, detail=type(exc).__name__)


async def _read_answer(response: httpx.Response, started: float, began: float) -> Outcome:
    """The first draft token's time and the answer's tokens, from the event stream."""
    event, first = "", None
    async for line in response.aiter_lines():
        if line.startswith("event:"):
            event = line.split(":", 1)[1].strip()
        elif not line.startswith("data:"):
            continue
        elif event == "draft" and first is None:
            first = time.perf_counter() - started
        elif event == "answer":
            answer = json.loads(line.split(":", 1)[1])
            return Outcome("answer", time.perf_counter() - began, first,
                           int(answer["timings"].get("answer_tokens", 0)), answer["refused"])
        elif event == "error":
            return Outcome("error", time.perf_counter() - began, detail=line[:120])
    return Outcome("error", time.perf_counter() - began, detail="stream ended, no answer")


async def poll(http: httpx.AsyncClient, path: str, every_s: float,
               stop: asyncio.Event) -> Polled:
    """GET `path` every `every_s` until `stop`, timing each."""
    seconds: list[float] = []
    failures, deepest = 0, None
    while not stop.is_set():
        started = time.perf_counter()
        try:
            response = await http.get(path)
            seconds.append(time.perf_counter() - started)
            failures += response.status_code != 200
            found = QUEUE_LINE.search(response.text) if path == "/metrics" else None
            if found:
                deepest = max(deepest or 0.0, float(found.group(1)))
        except httpx.HTTPError:
            failures += 1
        with contextlib.suppress(TimeoutError):  # the interval passed, stop not yet set
            await asyncio.wait_for(stop.wait(), every_s)
    return Polled(seconds, failures, deepest)


async def load(url: str, key: str, asked: list[str],
               deadline_s: float) -> tuple[list[Outcome], float, Polled, Polled]:
    """Every question at once, the health polls beside them; the wall time to the last."""
    headers = {"authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=len(asked) + 4)  # every user on its own connection
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=deadline_s,
                                 limits=limits) as http, \
            httpx.AsyncClient(base_url=url, timeout=30) as probe:
        stop = asyncio.Event()
        health = asyncio.create_task(poll(probe, "/healthz", 0.1, stop))
        scrape = asyncio.create_task(poll(probe, "/metrics", 0.5, stop))
        began = time.perf_counter()
        users = [asyncio.create_task(one_user(http, q, began)) for q in asked]
        done, pending = await asyncio.wait(users, timeout=deadline_s)
        wall = time.perf_counter() - began
        for task in pending:
            task.cancel()
        stop.set()
        outcomes = [t.result() if t in done else Outcome("unfinished", wall) for t in users]
        last = wall if pending else max(o.ended_s for o in outcomes)
        return outcomes, last, await health, await scrape


def p(values: list[float], q: float) -> float:
    """The q-quantile (nearest rank); nan for none."""
    if not values:
        return float("nan")
    ranked = sorted(values)
    return ranked[max(0, math.ceil(q * len(ranked)) - 1)]


def report(outcomes: list[Outcome], wall: float, health: Polled, scrape: Polled,
           bare: float, model: str, settings_line: str) -> str:
    """The result block."""
    answers = [o for o in outcomes if o.kind == "answer"]
    rejected = [o for o in outcomes if o.kind == "rejected"]
    errors = [o for o in outcomes if o.kind == "error"]
    ttft = [o.first_token_s for o in answers if o.first_token_s is not None]
    retry = sorted(int(o.retry_after) for o in rejected
                   if o.retry_after is not None and o.retry_after.isdigit())
    tokens = sum(o.tokens for o in answers)
    aggregate = tokens / wall if wall else float("nan")
    retry_text = (f"Retry-After {retry[0]}-{retry[-1]} s, median {statistics.median(retry):g}"
                  if retry else "no Retry-After")
    kinds = sorted({o.detail[:60] for o in errors})
    return "\n".join([
        f"load: {len(outcomes)} users at once, one streamed /v1/ask each; model {model}; "
        f"{settings_line}",
        f"answered {len(answers)} (of them refused {sum(o.refused for o in answers)}); "
        f"rejected {len(rejected)} (429, {retry_text}); errors {len(errors)}; "
        f"unfinished {sum(o.kind == 'unfinished' for o in outcomes)}",
        *(f"  error: {kind}" for kind in kinds),
        f"time to first token of admitted: p50 {p(ttft, 0.5):.2f} s, p95 {p(ttft, 0.95):.2f} s",
        f"answers per minute: {len(answers) / wall * 60:.1f} (wall {wall:.1f} s to the last)",
        f"/healthz while loaded: p95 {p(health.seconds, 0.95) * 1000:.1f} ms, max "
        f"{max(health.seconds, default=float('nan')) * 1000:.1f} ms ({len(health.seconds)} "
        f"polls, {health.failures} failed); /metrics p95 {p(scrape.seconds, 0.95) * 1000:.1f}"
        f" ms ({len(scrape.seconds)} scrapes), deepest queue seen {scrape.deepest_queue}",
        f"tokens/s: aggregate under load {aggregate:.1f} ({tokens} answer tokens / "
        f"{wall:.1f} s); one bare stream {bare:.1f}; ratio {aggregate / bare:.2f}",
    ])


def serve(services: Services) -> tuple[uvicorn.Server, str]:
    """The real app on a free loopback port, in a thread; returns once it listens (the
    answer model loaded by the app's start-up)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(services), log_level="warning"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.1)
    return server, f"http://127.0.0.1:{sock.getsockname()[1]}"


def main() -> None:
    """Run the measurement and print the result block."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--model", help="catalogue model name (default: the configured one)")
    parser.add_argument("--bare", type=int, default=3,
                        help="questions whose prompts the bare stream is measured on")
    parser.add_argument("--deadline", type=float, default=600.0,
                        help="seconds after which unfinished questions are given up")
    args = parser.parse_args()
    asked = questions(args.users)
    overrides = {"llm": args.model} if args.model else {}
    with tempfile.TemporaryDirectory() as tmp:
        services = build_services(load_settings(data_dir=Path(tmp) / "data", **overrides))
        services.ingester.run([CORPUS])
        key, _ = services.keys.create("bench", ["staff"], "employee")
        server, url = serve(services)
        bare = bare_rate(services, asked[:args.bare])
        outcomes, wall, health, scrape = asyncio.run(load(url, key, asked, args.deadline))
        server.should_exit = True
        settings = services.settings
        settings_line = ", ".join(f"{name} {getattr(settings, name)}" for name in
                                  ("max_answers", "answer_queue", "queue_wait_s", "threads")
                                  if hasattr(settings, name))
        model = services.generator.model_id
        services.close()
    print(report(outcomes, wall, health, scrape, bare, model, settings_line))


if __name__ == "__main__":
    main()
