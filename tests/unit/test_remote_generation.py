"""Generation servers behind one generator: streaming, continuing, routing, failing over.

The servers are played by an `httpx.MockTransport` (each base URL its own `FakeServer`),
through the real `httpx.Client`, `RemoteGenerator` and `GeneratorPool`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Sequence

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auditing import Channel, Provenance, ask_record
from api.auth import Identity
from api.settings import load_settings
from api.wiring import Services, build_generator, build_services
from indexes.library import DocumentIndex
from rag.answering import AnswerConfig, Answerer
from rag.answers import Query
from rag.citations import CitationBuilder
from rag.endpoints import EndpointConfig, LocalVocabulary, ServerKind
from rag.errors import AnswerCutShortError, GenerationError, NoEndpointError
from rag.generation import GenerationConfig, continued, default_llm_path, served_by
from rag.pool import GeneratorPool
from rag.remote import endpoint_pool
from rag.retrieval import RetrievalConfig, Retriever
from rag.search import Searcher
from tests.unit.answering_kit import card_library
from tests.unit.fakes import FakeEmbedder, MakeItem
from tests.unit.http_kit import LTV_ANSWER, LTV_QUESTION, bearer, library

A, B = "http://gpu-a:8080", "http://gpu-b:8080"
CHAT = [{"role": "user", "content": "What is the card fee?"}]
REPLY = ["The card fee", " is five euros", " per month [1]."]


class FakeServer:
    """One OpenAI-compatible server: streams `reply` (what follows the reply so far when
    asked to continue), ends with `finish` (None: no finish_reason), breaks the connection
    after `cut_after` pieces, refuses connections when not `alive`."""

    def __init__(self, reply: Sequence[str] = REPLY) -> None:
        self.reply = list(reply)
        self.finish: str | None = "stop"
        self.cut_after: int | None = None
        self.alive = True
        self.status = 200
        self.requests: list[tuple[str, dict[str, object]]] = []
        self.keys: list[str | None] = []

    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]

    def answer(self, request: httpx.Request) -> httpx.Response:
        if not self.alive:
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        body = json.loads(request.content) if request.content else {}
        self.requests.append((request.url.path, body))
        self.keys.append(request.headers.get("authorization"))
        if self.status != 200:
            return httpx.Response(self.status, text="model is loading")
        if request.url.path == "/v1/models":
            return httpx.Response(200, json={"data": [{"id": "served-model"}]})
        if request.url.path == "/tokenize":  # llama-server's "content", vLLM's "prompt"
            words = len(str(body.get("content", body.get("prompt"))).split())
            return httpx.Response(200, json={"tokens": list(range(words)), "count": words})
        return httpx.Response(200, stream=_Events(self._pieces(body), self.finish,
                                                  self.cut_after, "prompt" in body),
                              headers={"content-type": "text/event-stream"})

    def _pieces(self, body: dict[str, object]) -> list[str]:
        messages = body.get("messages") or []
        assert isinstance(messages, list)
        so_far = messages[-1]["content"] if messages and messages[-1]["role"] == "assistant" \
            else str(body.get("prompt", "")).rsplit("assistant\n", 1)[-1]
        if not so_far or not "".join(self.reply).startswith(so_far):
            return self.reply
        rest = "".join(self.reply)[len(so_far):]
        return [rest] if rest else []


class _Events(httpx.SyncByteStream):
    """Server-sent events as llama.cpp servers send them (role first, pings between)."""

    def __init__(self, pieces: list[str], finish: str | None, cut_after: int | None,
                 completion: bool) -> None:
        self.pieces, self.finish, self.cut_after = pieces, finish, cut_after
        self.completion = completion

    def _chunk(self, text: str | None, finish: str | None) -> bytes:
        choice = {"text": text or ""} if self.completion else \
            {"delta": {"content": text} if text is not None else {}}
        return f"data: {json.dumps({'choices': [{**choice, 'finish_reason': finish}]})}\n\n" \
            .encode()

    def __iter__(self) -> Iterator[bytes]:
        if not self.completion:
            yield self._chunk(None, None).replace(b"{}", b'{"role": "assistant"}')
        yield b": ping - 2024-05-01 10:00:00\n\n"
        for sent, piece in enumerate(self.pieces):
            if sent == self.cut_after:
                raise httpx.ReadError("connection reset by peer")
            yield self._chunk(piece, None)
        if self.finish is not None:
            yield self._chunk(None, self.finish)
        yield b"data: [DONE]\n\n"


class Servers:
    """The fake servers by base URL, and the transport that reaches them."""

    def __init__(self, *urls: str) -> None:
        self.by_url = {url: FakeServer() for url in urls}
        self.transport = httpx.MockTransport(self._route)

    def __getitem__(self, url: str) -> FakeServer:
        return self.by_url[url]

    def _route(self, request: httpx.Request) -> httpx.Response:
        return self.by_url[f"{request.url.scheme}://{request.url.host}:{request.url.port}"] \
            .answer(request)

    def pool(self, *, kind: ServerKind = ServerKind.LLAMA_CPP, capacities: Sequence[int] = (),
             vocabulary: LocalVocabulary | None = None, api_key: str | None = None,
             health_s: float = 30.0, wait_s: float = 0.2) -> GeneratorPool:
        configs = [EndpointConfig(url, kind, capacities[i] if capacities else 1,
                                  api_key=api_key, timeout_s=5)
                   for i, url in enumerate(self.by_url)]
        return endpoint_pool(configs, context_size=4096, vocabulary=vocabulary, wait_s=wait_s,
                             health_s=health_s, transport=self.transport)


@pytest.fixture
def servers() -> Servers:
    return Servers(A, B)


@pytest.fixture
def pool(servers: Servers) -> Iterator[GeneratorPool]:
    made = servers.pool()
    yield made
    made.close()


def _body(server: FakeServer, index: int = -1) -> dict[str, object]:
    return [b for p, b in server.requests if p.endswith("completions")][index]


def test_a_stream_is_parsed_into_its_pieces_and_says_where_it_ran(
    pool: GeneratorPool, servers: Servers
) -> None:
    stream = pool.stream(CHAT, GenerationConfig(max_tokens=64, temperature=0.0))
    assert served_by(stream) is None  # not sent anywhere before it is read
    assert list(stream) == REPLY and served_by(stream) == A
    body = _body(servers[A])
    assert body["messages"] == CHAT and body["stream"] is True and body["max_tokens"] == 64
    assert body["repeat_penalty"] == 1.1 and "continue_final_message" not in body


def test_finish_reason_length_is_a_normal_end(pool: GeneratorPool, servers: Servers) -> None:
    servers[A].finish = "length"
    assert "".join(pool.stream(CHAT, GenerationConfig())) == "".join(REPLY)


def test_a_stream_without_finish_reason_is_an_answer_cut_short(
    pool: GeneratorPool, servers: Servers
) -> None:
    servers[A].finish = servers[B].finish = None
    stream = pool.stream(CHAT, GenerationConfig())
    assert next(stream) == REPLY[0]
    with pytest.raises(AnswerCutShortError, match=f"{A} cut the answer short.*finish_reason"):
        list(stream)
    assert servers[B].requests == []  # text had come: not replayed elsewhere


def test_a_stream_cut_before_its_first_piece_is_asked_again_elsewhere(
    pool: GeneratorPool, servers: Servers
) -> None:
    servers[A].finish, servers[A].reply = None, []  # [DONE] and nothing else
    assert "".join(pool.stream(CHAT, GenerationConfig())) == "".join(REPLY)
    assert len(servers[A].requests) == len(servers[B].requests) == 1
    assert pool.is_up(A)  # it answered: only that answer was cut


@pytest.mark.parametrize(("kind", "extra"), [
    (ServerKind.LLAMA_CPP, {}),
    (ServerKind.VLLM, {"continue_final_message": True, "add_generation_prompt": False}),
])
def test_a_reply_is_continued_as_the_last_message(
    servers: Servers, kind: ServerKind, extra: dict[str, object]
) -> None:
    pool = servers.pool(kind=kind)
    messages = continued(CHAT, "The card fee is five euros")
    assert "".join(pool.stream(messages, GenerationConfig(max_tokens=64))) == " per month [1]."
    body = _body(servers[A])
    assert body["messages"] == messages and body["max_tokens"] == 64 - 6  # 6 words so far
    assert {k: body[k] for k in extra} == extra
    assert ("add_generation_prompt" in body) is (kind is ServerKind.VLLM)


def test_llama_cpp_python_continues_a_completion_of_the_rendered_chat(
    servers: Servers,
) -> None:
    vocabulary = LocalVocabulary(default_llm_path())  # the bundled SmolLM2, vocabulary only
    pool = servers.pool(kind=ServerKind.LLAMA_CPP_PYTHON, vocabulary=vocabulary)
    messages = continued(CHAT, "The card fee is five euros")
    assert "".join(pool.stream(messages, GenerationConfig(max_tokens=64))) == " per month [1]."
    [(path, body)] = servers[A].requests
    assert path == "/v1/completions" and "messages" not in body
    prompt = str(body["prompt"])
    assert prompt.endswith("<|im_start|>user\nWhat is the card fee?<|im_end|>\n"
                           "<|im_start|>assistant\nThe card fee is five euros")
    assert body["stop"] == ["<|im_end|>"]
    assert body["max_tokens"] == 64 - vocabulary.count_tokens("The card fee is five euros")


def test_an_openai_endpoint_without_a_vocabulary_says_what_to_set(servers: Servers) -> None:
    pool = servers.pool(kind=ServerKind.OPENAI)
    with pytest.raises(GenerationError, match="COFFRE_LLM_MODEL"):
        pool.count_tokens("a b c")


def test_each_request_goes_to_the_least_loaded_endpoint_for_its_capacity(
    servers: Servers,
) -> None:
    pool = servers.pool(capacities=(2, 1))
    first, second, third = (pool.stream(CHAT, GenerationConfig()) for _ in range(3))
    next(first), next(second)
    assert (served_by(first), served_by(second)) == (A, B)
    next(third)  # A: 1 of 2 in flight, B: 1 of 1
    assert served_by(third) == A
    fourth = pool.stream(CHAT, GenerationConfig())
    with pytest.raises(GenerationError, match="busy"):  # all full past wait_s
        next(fourth)
    second.close()  # B free again
    fourth = pool.stream(CHAT, GenerationConfig())
    next(fourth)
    assert served_by(fourth) == B
    for stream in (first, third, fourth):
        stream.close()
    assert pool.capacity == 3


def test_a_full_pool_serves_a_waiting_request_once_a_slot_frees(servers: Servers) -> None:
    pool = servers.pool(wait_s=5.0)
    held = [pool.stream(CHAT, GenerationConfig()) for _ in range(2)]
    for stream in held:
        next(stream)
    threading.Timer(0.2, held[1].close).start()
    began = time.monotonic()
    waiting = pool.stream(CHAT, GenerationConfig())
    assert next(waiting) == REPLY[0] and served_by(waiting) == B
    assert 0.1 < time.monotonic() - began < 4
    waiting.close()
    held[0].close()


def test_a_request_failing_before_its_first_token_is_retried_on_another_endpoint(
    pool: GeneratorPool, servers: Servers
) -> None:
    servers[A].alive = False
    stream = pool.stream(CHAT, GenerationConfig())
    assert "".join(stream) == "".join(REPLY) and served_by(stream) == B
    assert not pool.is_up(A) and pool.capacity == 1
    assert "".join(pool.stream(CHAT, GenerationConfig())) == "".join(REPLY)
    assert len(servers[B].requests) == 2  # A is out: not tried again


def test_a_failure_after_the_first_token_ends_the_answer_with_an_error(
    pool: GeneratorPool, servers: Servers
) -> None:
    servers[A].cut_after = 1
    stream = pool.stream(CHAT, GenerationConfig())
    assert next(stream) == REPLY[0]
    with pytest.raises(AnswerCutShortError, match=f"{A} cut the answer short.*begun.*reset"):
        next(stream)
    assert servers[B].requests == [] and not pool.is_up(A)


def test_a_server_error_takes_the_endpoint_out_and_a_bad_request_does_not(
    pool: GeneratorPool, servers: Servers
) -> None:
    servers[A].status = 503
    assert "".join(pool.stream(CHAT, GenerationConfig())) == "".join(REPLY)
    assert not pool.is_up(A)
    servers[B].status = 400
    with pytest.raises(GenerationError, match=r"rejected the request.*HTTP 400"):
        list(pool.stream(CHAT, GenerationConfig()))
    assert pool.is_up(B)


def test_a_dead_endpoint_is_out_until_a_health_check_finds_it_well(
    pool: GeneratorPool, servers: Servers
) -> None:
    servers[A].alive = False
    list(pool.stream(CHAT, GenerationConfig()))
    pool.check_health()  # still dead
    assert not pool.is_up(A) and pool.capacity == 1
    servers[A].alive = True
    pool.check_health()
    assert pool.is_up(A) and pool.capacity == 2
    stream = pool.stream(CHAT, GenerationConfig())
    list(stream)
    assert served_by(stream) == A
    assert pool.model_id == "served-model"  # as the server listed it


def test_the_health_check_runs_in_the_background_from_first_use_until_closed(
    servers: Servers,
) -> None:
    def watching() -> int:
        return sum(t.name == "coffre-generation-health" for t in threading.enumerate())

    before = watching()
    pool = servers.pool(health_s=0.05)
    assert watching() == before  # nothing runs before the pool is used
    servers[A].alive = False
    list(pool.stream(CHAT, GenerationConfig()))
    assert not pool.is_up(A)
    servers[A].alive = True
    deadline = time.monotonic() + 5
    while not pool.is_up(A) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert pool.is_up(A) and watching() == before + 1
    pool.close()
    assert watching() == before


def test_the_health_check_leaves_a_busy_endpoint_alone(
    pool: GeneratorPool, servers: Servers
) -> None:
    stream = pool.stream(CHAT, GenerationConfig())
    next(stream)
    pool.check_health()
    assert "/v1/models" not in servers[A].paths() and "/v1/models" in servers[B].paths()
    stream.close()


def test_all_endpoints_down_is_an_error_naming_each_with_retry_after(
    pool: GeneratorPool, servers: Servers
) -> None:
    servers[A].alive = servers[B].alive = False
    with pytest.raises(NoEndpointError) as raised:
        list(pool.stream(CHAT, GenerationConfig()))
    message = str(raised.value)
    assert message.startswith("no generation endpoint answered (")
    assert f"{A}: [Errno 111] Connection refused" in message and B in message
    assert message.endswith("check COFFRE_GENERATOR_URLS and that the servers run")
    assert raised.value.headers == {"Retry-After": "30"} and raised.value.http_status == 503
    assert pool.capacity == 1  # never 0: admission control needs a slot to refuse from
    with pytest.raises(NoEndpointError, match="out of service"):  # both out: none tried
        list(pool.stream(CHAT, GenerationConfig()))


def test_the_api_key_goes_as_a_bearer_header(servers: Servers) -> None:
    pool = servers.pool(api_key="s3cret")
    list(pool.stream(CHAT, GenerationConfig()))
    pool.count_tokens("a b")
    pool.check_health()
    assert set(servers[A].keys) | set(servers[B].keys) == {"Bearer s3cret"}
    assert "s3cret" not in repr(pool.members[0].generator.config)  # type: ignore[attr-defined]
    unkeyed = Servers(A)
    list(unkeyed.pool().stream(CHAT, GenerationConfig()))
    assert unkeyed[A].keys == [None]


def test_tokens_are_counted_by_the_servers_tokenizer(
    pool: GeneratorPool, servers: Servers
) -> None:
    assert pool.count_tokens("one two three") == 3
    [(path, body)] = servers[A].requests
    assert path == "/tokenize" and body == {"content": "one two three", "add_special": False}
    servers[A].alive = False
    assert pool.count_tokens("one two") == 2 and not pool.is_up(A)  # counted by B


def test_tokens_are_counted_locally_with_a_vocabulary(servers: Servers) -> None:
    vocabulary = LocalVocabulary(default_llm_path())
    pool = servers.pool(vocabulary=vocabulary)
    assert pool.count_tokens("Hello world") == vocabulary.count_tokens("Hello world") > 0
    assert servers[A].requests == servers[B].requests == []
    assert pool.context_size == 4096  # the configured one, under the model's 8192


def test_an_answer_through_the_pool_records_its_endpoint(
    index: DocumentIndex, embedder: FakeEmbedder, item: MakeItem,
) -> None:
    card_library(index, item)
    reply = ["The card fee is five euros per month [1].", " Cards are renewed",
             " every three years [1]."]
    servers = Servers(A, B)
    servers[A].reply = servers[B].reply = reply
    pool = servers.pool()
    pool.check_health()  # both idle: each lists its model
    searcher = Searcher(Retriever(index, embedder, RetrievalConfig()), None)
    citations = CitationBuilder(embedder.embed_passages, index.similarity)
    answer = Answerer(searcher, pool, citations, AnswerConfig(top_k=2)).ask(
        Query("What is the card fee per month?"))
    assert not answer.refused and answer.text == "".join(reply)
    assert answer.served_by == A and answer.model == "served-model"
    # It paused at its first verified sentence for the answer check (asked of B, the idle
    # one), then went on from that sentence on A, which wrote it.
    chats = {url: [b["messages"][-1] for b in (b for p, b in servers[url].requests  # type: ignore[index]
                                                if p == "/v1/chat/completions")]
             for url in (A, B)}
    assert [m["role"] for m in chats[A]] == ["user", "assistant"]
    so_far = chats[A][1]["content"]
    assert so_far.startswith(reply[0]) and len(so_far) < len(answer.text)
    assert [m["role"] for m in chats[B]] == ["user"]  # the check
    identity = Identity("alice", frozenset({"retail"}), frozenset({"employee"}), "api_key")
    record = ask_record(identity, Channel.HTTP, answer,
                        Provenance("fake", answer.model, None, GenerationConfig())).body()
    assert record["endpoint"] == A and record["model"] == "served-model"
    pool.close()


def test_the_settings_build_a_pool_that_connects_nothing_until_used(tmp_path: object) -> None:
    servers = Servers(A, B)
    settings = load_settings(generator_urls=f"{A}, {B}/v1/", generator_kind="vllm",
                             generator_capacity=3, generator_model="qwen", data_dir=tmp_path)
    pool = build_generator(settings, transport=servers.transport)
    assert isinstance(pool, GeneratorPool)
    assert [m.name for m in pool.members] == [A, B] and [m.capacity for m in pool.members] == [3, 3]
    assert servers[A].requests == servers[B].requests == []
    assert pool.capacity == 6 and pool.model_id == "qwen"
    list(pool.stream(CHAT, GenerationConfig()))
    assert _body(servers[A])["model"] == "qwen"
    pool.close()


def test_all_endpoints_down_answers_503_with_retry_after(services: Services) -> None:
    servers = Servers(A, B)
    servers[A].alive = servers[B].alive = False
    pool = servers.pool(health_s=7)
    down = build_services(services.settings.model_copy(update={
        "data_dir": services.settings.data_dir / "down"}), embedder=services.embedder,
        generator=pool)
    library(down)
    with TestClient(create_app(down, warm_up=False)) as http:
        response = http.post("/v1/ask", json={"question": LTV_QUESTION},
                             headers=bearer(down, "employee", ("lending",)))
    assert response.status_code == 503 and response.headers["retry-after"] == "7"
    assert "no generation endpoint answered" in response.json()["detail"]
    assert LTV_ANSWER not in response.text
    pool.close()
    down.close()
