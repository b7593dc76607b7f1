"""Coffre answering through real llama_cpp.server processes on loopback, one killed mid-test.

Each server runs the bundled SmolLM2-135M (`python -m llama_cpp.server`, one thread each);
Coffre counts tokens with the same GGUF file read vocabulary-only. Servers are started with
a readiness poll and killed in teardown whatever happens.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from api.auditing import Channel, ask_record
from api.auth import Identity
from api.settings import Settings, load_settings
from api.wiring import Services, build_generator, build_services
from rag.answers import Answer, Query
from rag.endpoints import EndpointConfig, LocalVocabulary, ServerKind
from rag.errors import AnswerCutShortError, GenerationError
from rag.generation import GenerationConfig, continued, default_llm_path, served_by
from rag.pool import GeneratorPool
from rag.remote import RemoteGenerator

DOCUMENTS = {
    "cards.md": "# Card tariffs\n\nThe classic debit card costs five euros per month. "
                "A replacement card costs ten euros.\n",
    "mortgages.md": "# Mortgages\n\nThe maximum loan-to-value for a buy-to-let mortgage is 70 "
                    "percent of the valuation. Mortgage rates are fixed for ten years.\n",
    "passwords.md": "# Passwords\n\nAdministrator accounts must change their password every "
                    "30 days. Passwords must have at least 14 characters.\n",
}
QUESTIONS = [
    "How much does the classic debit card cost per month?",
    "What is the maximum loan-to-value for a buy-to-let mortgage?",
    "How often must administrator accounts change their password?",
    "How many characters must a password have?",
    "How much does a replacement card cost?",
    "For how long are mortgage rates fixed?",
]
LONG = [{"role": "user", "content": "Count from 1 to 300, one number per line."}]
STORY = [{"role": "user", "content": "Write a very long story about a small bank in a village."}]
ALICE = Identity("alice", frozenset(), frozenset({"admin"}), "api_key")


@dataclass
class Server:
    """One llama_cpp.server process and its base URL."""

    url: str
    process: subprocess.Popen[bytes]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def llama_server(log_dir: Path, *, interrupt: bool = False) -> Iterator[Server]:
    """A llama_cpp.server on a free loopback port, ready when it lists its model."""
    port = _free_port()
    log = (log_dir / f"server-{port}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(default_llm_path()),
         "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--n_threads", "1",
         "--n_threads_batch", "1",
         "--interrupt_requests", str(interrupt), "--verbose", "False"],
        stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, (log_dir / f"server-{port}.log").read_text()
            try:
                if httpx.get(f"{url}/v1/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"llama_cpp.server on {port} did not start"
            time.sleep(0.2)
        yield Server(url, process)
    finally:
        process.kill()
        process.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Server]]:
    """Two servers with interrupt_requests off, as Coffre needs them."""
    logs = tmp_path_factory.mktemp("servers")
    with ExitStack() as stack:
        yield [stack.enter_context(llama_server(logs)) for _ in range(2)]


def pool_settings(data_dir: Path, servers: list[Server], **extra: object) -> Settings:
    return load_settings(
        data_dir=data_dir, generator_urls=",".join(s.url for s in servers),
        generator_kind="llama-cpp-python", llm_model=default_llm_path(), context_size=2048,
        threads=2, top_k=2, max_answer_tokens=48, generator_health_s=0.5, generator_timeout_s=60,
        answer_check=False,  # one stream per question: the pool, not the check, is tested
        **extra)


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory, pair: list[Server]) -> Iterator[Services]:
    """Services answering through the pair, over a small ingested corpus."""
    corpus = tmp_path_factory.mktemp("corpus")
    for name, text in DOCUMENTS.items():
        (corpus / name).write_text(text)
    built = build_services(pool_settings(tmp_path_factory.mktemp("data"), pair))
    report = built.ingester.run([corpus])
    assert report.count("failed") == 0
    yield built
    pool = built.generator.resolve()  # type: ignore[attr-defined]
    pool.close()
    built.close()


def ask_all(ask: Callable[[str], Answer], questions: list[str], *, threads: int = 4,
            while_running: Callable[[], None] | None = None,
            ) -> tuple[list[Answer], list[Exception]]:
    """Ask every question at once; each ends answered or with an error, none lost."""
    with ThreadPoolExecutor(threads) as pool:
        futures: list[Future[Answer]] = [pool.submit(ask, q) for q in questions]
        if while_running is not None:
            while_running()
        answered, failed = [], []
        for future in futures:
            try:
                answered.append(future.result(timeout=240))
            except GenerationError as exc:
                failed.append(exc)
    assert len(answered) + len(failed) == len(questions)
    return answered, failed


def test_concurrent_questions_are_answered_across_both_servers_and_audited(
    services: Services, pair: list[Server]
) -> None:
    answered, failed = ask_all(lambda q: services.answerer.ask(Query(q)), QUESTIONS[:4])
    assert failed == []
    generated = [a for a in answered if a.served_by is not None]
    assert len(generated) >= 3  # at most one refused before generation
    assert {a.served_by for a in generated} == {s.url for s in pair}
    assert all(a.model == default_llm_path().name for a in generated)  # COFFRE_LLM_MODEL's
    record = ask_record(ALICE, Channel.CLI, generated[0], services.provenance()).body()
    assert record["endpoint"] == generated[0].served_by and record["model"]


def test_a_server_killed_mid_answer_loses_no_question(
    services: Services, tmp_path: Path
) -> None:
    with llama_server(tmp_path) as doomed, llama_server(tmp_path) as survivor:
        pool = build_generator(pool_settings(tmp_path / "data", [doomed, survivor],
                                             generator_capacity=2))
        assert isinstance(pool, GeneratorPool)
        answerer = services.answerer.using(pool)
        story = pool.stream(STORY, GenerationConfig(max_tokens=400))
        assert next(story) and served_by(story) == doomed.url  # its text has begun

        def kill_once_a_question_waits_there() -> None:
            deadline = time.monotonic() + 120
            while pool.status()[0].in_flight < 2:  # the story and a question behind it
                assert time.monotonic() < deadline, "no question went to the first server"
                time.sleep(0.005)
            doomed.process.kill()

        answered, failed = ask_all(lambda q: answerer.ask(Query(q)), QUESTIONS[:5],
                                   while_running=kill_once_a_question_waits_there)
        # The story had begun there: it ends with the error, not as a shorter story.
        with pytest.raises(AnswerCutShortError, match=f"{doomed.url} cut the answer short"):
            list(story)
        # The question waiting there had no token yet: asked again on the survivor.
        assert failed == [] and len(answered) == 5
        assert {a.served_by for a in answered} <= {survivor.url, None}
        assert not pool.is_up(doomed.url) and pool.status()[0].failure
        pool.close()


def _read_while_models_are_listed(remote: RemoteGenerator, url: str) -> str:
    """Read a long reply, listing the server's models once the first piece came."""
    stream = remote.stream(LONG, GenerationConfig(max_tokens=400))
    text = next(stream)
    listed = threading.Thread(target=httpx.get, args=(f"{url}/v1/models",),
                              kwargs={"timeout": 120})
    listed.start()
    try:
        return text + "".join(stream)
    finally:
        listed.join()


def _endpoint(url: str, kind: ServerKind = ServerKind.LLAMA_CPP_PYTHON) -> RemoteGenerator:
    return RemoteGenerator(EndpointConfig(url, kind), httpx.Client(), context_size=2048,
                           vocabulary=LocalVocabulary(default_llm_path()))


def test_with_interrupt_requests_on_any_request_cuts_a_stream_and_it_is_caught(
    tmp_path: Path, pair: list[Server]
) -> None:
    with llama_server(tmp_path, interrupt=True) as interrupting, \
            pytest.raises(AnswerCutShortError, match="without a finish_reason"):
        _read_while_models_are_listed(_endpoint(interrupting.url), interrupting.url)
    # The same with interrupt_requests off: the listing waits, the reply ends whole (an
    # end without a finish_reason would raise as above).
    whole = _read_while_models_are_listed(_endpoint(pair[0].url), pair[0].url)
    assert "1" in whole and "5" in whole


def test_llama_cpp_server_continues_a_reply_only_as_a_completion(pair: list[Server]) -> None:
    remote = _endpoint(pair[1].url)
    config = GenerationConfig(max_tokens=96, repeat_penalty=1.0)
    question = [{"role": "user", "content": "What is the capital of France?"}]
    pieces = list(remote.stream(question, config))
    start, rest = "".join(pieces[:4]), "".join(pieces[4:])
    assert rest
    # Continued from the rendered chat (/v1/completions): exactly what followed.
    assert "".join(remote.stream(continued(question, start), config)) == rest
    # Sent as a final assistant message, llama_cpp.server closes it and answers anew.
    naive = _endpoint(pair[1].url, ServerKind.LLAMA_CPP)
    assert "".join(naive.stream(continued(question, start), config)) != rest
