"""`/v1/chat/completions` and `/v1/models` through the real app and wiring, fake models:
OpenAI's wire format, only checked text on the wire, access, errors and the audit trail."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auditing import Channel
from api.auth import Identity
from api.http.answering import Asked
from api.http.chat import _chunks, _Reply
from api.http.deps import caller
from api.wiring import Services, build_services
from rag.answers import AnswerEvent, CheckedSentence, DraftText, Query, Speaker, Turn
from rag.errors import ModelBusyError
from rag.generation import GenerationConfig
from tests.unit.fakes import FakeGenerator, word_count
from tests.unit.http_kit import LTV_QUESTION, bearer, chat, data_lines, library

COMPLETIONS = "/v1/chat/completions"
SOURCES = "\n\nSources:\n- [1] Retail Credit Policy"


def _asks(services: Services) -> list[dict[str, Any]]:
    return [r.body for r in services.audit.records() if r.body["kind"] == "ask"]


def _reader(services: Services) -> dict[str, str]:
    library(services)
    return bearer(services, "employee", ("lending",))


def _stream(client: TestClient, headers: dict[str, str], body: dict[str, object]) -> list[Any]:
    """The chunks of a streamed completion, `[DONE]` last, checking it is plain SSE."""
    with client.stream("POST", COMPLETIONS, headers=headers, json={**body, "stream": True}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        text = r.read().decode()
    assert "event:" not in text and "\r" not in text
    lines = data_lines(text)
    assert lines[-1] == "[DONE]"
    return [*map(json.loads, lines[:-1]), "[DONE]"]


def _streamed_text(chunks: list[Any]) -> str:
    return "".join(c["choices"][0]["delta"].get("content", "")
                   for c in chunks[:-1] if c["choices"])


def test_a_completion_is_openai_shaped_cited_counted_and_audited(
    client: TestClient, services: Services
) -> None:
    body = client.post(COMPLETIONS, json=chat(LTV_QUESTION), headers=_reader(services)).json()
    assert set(body) == {"id", "object", "created", "model", "choices", "usage", "coffre"}
    assert body["id"].startswith("chatcmpl-") and body["object"] == "chat.completion"
    assert isinstance(body["created"], int) and body["model"] == "coffre"
    [choice] = body["choices"]
    assert choice["index"] == 0 and choice["finish_reason"] == "stop"
    content = choice["message"]["content"]
    assert choice["message"]["role"] == "assistant" and "70 percent" in content
    assert content.endswith(SOURCES)
    assert body["usage"] == {"prompt_tokens": word_count(LTV_QUESTION),
                             "completion_tokens": word_count(content),
                             "total_tokens": word_count(LTV_QUESTION) + word_count(content)}
    assert body["coffre"]["citations"][0]["title"] == "Retail Credit Policy"
    assert not body["coffre"]["refused"] and body["coffre"]["sentences"][0]["verified"]
    # The [1] marker, linked to the passage it cites in the on-premise passage view.
    citation = body["coffre"]["citations"][0]
    [note] = choice["message"]["annotations"]
    assert note["type"] == "url_citation"
    cited = note["url_citation"]
    assert content[cited["start_index"]:cited["end_index"]] == "[1]"
    assert cited["url"] == (f"http://testserver/passage/{citation['chunk_id']}"
                            f"?start={citation['start']}&end={citation['end']}")
    assert cited["title"] == "Retail Credit Policy"
    [record] = _asks(services)
    assert record["channel"] == Channel.OPENAI == "openai" and record["user"] == "employee-user"
    assert record["question"] == LTV_QUESTION and "70 percent" in record["answer"]
    assert record["cited"][0]["document"] == "/docs/Retail Credit Policy.txt"


def test_a_stream_sends_the_role_then_sentences_sources_finish_and_done(
    client: TestClient, services: Services
) -> None:
    headers = _reader(services)
    chunks = _stream(client, headers, chat(LTV_QUESTION))
    first, *contents, finish, done = chunks
    assert first["choices"] == [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                 "finish_reason": None}]
    *sentences, sources = contents
    assert sentences and all(set(c["choices"][0]["delta"]) == {"content"} for c in sentences)
    assert all(c["choices"][0]["finish_reason"] is None for c in contents)
    assert sources["choices"][0]["delta"]["content"] == SOURCES
    assert [n["type"] for n in sources["choices"][0]["delta"]["annotations"]] == ["url_citation"]
    assert finish["choices"] == [{"index": 0, "delta": {}, "finish_reason": "stop"}]
    assert finish["coffre"]["citations"][0]["title"] == "Retail Credit Policy"
    assert done == "[DONE]" and all("usage" not in c for c in chunks[:-1])
    assert {c["id"] for c in chunks[:-1]} == {first["id"]} and first["id"].startswith("chatcmpl-")
    assert {c["object"] for c in chunks[:-1]} == {"chat.completion.chunk"}
    whole = client.post(COMPLETIONS, json=chat(LTV_QUESTION), headers=headers).json()
    assert _streamed_text(chunks) == whole["choices"][0]["message"]["content"]
    streamed, _ = _asks(services)
    assert streamed["channel"] == "openai" and "interrupted" not in streamed


def test_include_usage_adds_a_last_chunk_with_usage_and_no_choice(
    client: TestClient, services: Services
) -> None:
    chunks = _stream(client, _reader(services),
                     chat(LTV_QUESTION, stream_options={"include_usage": True}))
    *_, finish, last, done = chunks
    assert finish["choices"][0]["finish_reason"] == "stop" and "coffre" not in finish
    assert last["choices"] == [] and done == "[DONE]"
    completion = word_count(_streamed_text(chunks))
    assert last["usage"] == {"prompt_tokens": word_count(LTV_QUESTION),
                             "completion_tokens": completion,
                             "total_tokens": word_count(LTV_QUESTION) + completion}
    assert last["coffre"]["citations"]


def test_unknown_fields_are_ignored_and_system_messages_not_read(
    client: TestClient, services: Services
) -> None:
    body = chat(LTV_QUESTION, temperature=0.7, max_tokens=5, n=2, user="u-1", top_p=1,
                metadata={"a": "b"}, tools=[{"type": "function", "function": {"name": "f"}}],
                stream_options={"include_usage": False, "later": 1}, frequency_penalty=0)
    body["messages"] = [{"role": "system", "content": "Answer in pirate speech.", "name": "s"},
                        {"role": "user", "content": LTV_QUESTION, "name": "ines"}]
    response = client.post(COMPLETIONS, json=body, headers=_reader(services))
    assert response.status_code == 200, response.text
    assert "70 percent" in response.json()["choices"][0]["message"]["content"]
    [record] = _asks(services)
    assert record["question"] == LTV_QUESTION


def test_text_parts_are_read_and_earlier_messages_are_the_history(
    client: TestClient, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[Query] = []
    real = services.answerer.stream

    def stream(query: Query, retrieval: None = None) -> Iterator[AnswerEvent]:
        asked.append(query)
        return real(query, retrieval)

    monkeypatch.setattr(services.answerer, "stream", stream)
    earlier = "The maximum is 70 percent [1]." + SOURCES
    messages = [{"role": "system", "content": "Be brief."},
                {"role": "user", "content": [{"type": "text", "text": "Buy-to-let?"}]},
                {"role": "assistant", "content": earlier},
                {"role": "user", "content": [{"type": "text", "text": LTV_QUESTION}]}]
    body = client.post(COMPLETIONS, json={"model": "x", "messages": messages},
                       headers=_reader(services)).json()
    [query] = asked
    assert query.question == LTV_QUESTION
    assert query.history == (Turn(Speaker.USER, "Buy-to-let?"),
                             Turn(Speaker.ASSISTANT, "The maximum is 70 percent [1]."))
    assert "70 percent" in body["choices"][0]["message"]["content"]
    prompt = word_count(LTV_QUESTION) + word_count("Buy-to-let?") + word_count(
        "The maximum is 70 percent [1].")
    assert body["usage"]["prompt_tokens"] == prompt


def _is_openai_error(response: Any, status: int, code: str | None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["code"] == code and body["error"]["message"]
    return dict(body["error"])


def test_errors_are_openai_shaped_on_these_routes_only(
    client: TestClient, services: Services
) -> None:
    for method, path, body in (("POST", COMPLETIONS, chat("x")), ("GET", "/v1/models", None)):
        missing = client.request(method, path, json=body)
        assert _is_openai_error(missing, 401, "invalid_api_key")["type"] == "invalid_request_error"
        assert missing.headers["www-authenticate"] == "Bearer"
        wrong = client.request(method, path, json=body,
                               headers={"authorization": "Bearer cof_nope_nope"})
        _is_openai_error(wrong, 401, "invalid_api_key")
    headers = _reader(services)
    no_messages = client.post(COMPLETIONS, json={"model": "coffre"}, headers=headers)
    assert _is_openai_error(no_messages, 422, "invalid_value")["param"] == "messages"
    image = chat("x")
    image["messages"] = [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]
    bad_part = client.post(COMPLETIONS, json=image, headers=headers)
    assert _is_openai_error(bad_part, 422, "invalid_value")["param"] == "messages.0.content"
    no_user = client.post(COMPLETIONS, headers=headers, json={
        "messages": [{"role": "system", "content": "Be brief."}]})
    assert "role 'user'" in _is_openai_error(no_user, 422, "invalid_value")["message"]
    # Every other route keeps Coffre's own error bodies.
    assert client.post("/v1/ask", json={"question": "x"}).json()["detail"]
    assert client.post("/v1/ask", json={}, headers=headers).json()["detail"][0]["loc"] == [
        "body", "question"]
    client.app.dependency_overrides[caller] = lambda: Identity(  # type: ignore[attr-defined]
        "v", frozenset(), frozenset({"visitor"}), "jwt")
    forbidden = client.post(COMPLETIONS, json=chat(LTV_QUESTION))
    assert _is_openai_error(forbidden, 403, "forbidden")["type"] == "permission_error"
    assert _asks(services) == []


def test_models_lists_coffre(client: TestClient, services: Services) -> None:
    body = client.get("/v1/models", headers=_reader(services)).json()
    [card] = body["data"]
    assert body["object"] == "list" and set(card) == {"id", "object", "created", "owned_by"}
    assert card["id"] == "coffre" and card["object"] == "model" and card["owned_by"] == "coffre"
    assert isinstance(card["created"], int)


def test_a_refusal_sends_its_text_without_sources(client: TestClient, services: Services) -> None:
    library(services)
    headers = bearer(services, "employee", ("retail",))  # may not read the credit policy
    whole = client.post(COMPLETIONS, json=chat(LTV_QUESTION), headers=headers).json()
    assert whole["choices"][0]["message"]["content"] == "I don't know from the documents available."
    assert whole["coffre"]["refused"] and whole["coffre"]["refusal_reason"] == "relevance"
    chunks = _stream(client, headers, chat(LTV_QUESTION))
    assert _streamed_text(chunks) == whole["choices"][0]["message"]["content"]
    assert [r["refused"] for r in _asks(services)] == [True, True]


def _built(services: Services, name: str, generator: FakeGenerator, **settings: object) -> Services:
    update = {"data_dir": services.settings.data_dir / name, **settings}
    return build_services(services.settings.model_copy(update=update),
                          embedder=services.embedder, generator=generator)


def test_a_draft_sentence_the_checks_drop_or_change_never_reaches_the_wire(
    services: Services,
) -> None:
    # The model cites a source that does not exist ([7]) and adds a fee the passage lacks.
    draft = ["The maximum loan-to-value for a buy-to-let mortgage is 70 percent [7].",
             " The arrangement fee is 450 euros [1]."]
    checked = _built(services, "dropping", FakeGenerator(draft), drop_unverified=True)
    headers = _reader(checked)
    with TestClient(create_app(checked, warm_up=False)) as http:
        tokens = http.post("/v1/ask", headers=headers,
                           json={"question": LTV_QUESTION, "stream": True}).text
        assert "450 euros" in tokens and "[7]" in tokens  # the draft did say both
        whole = http.post(COMPLETIONS, json=chat(LTV_QUESTION), headers=headers).json()
        chunks = _stream(http, headers, chat(LTV_QUESTION, stream_options={
            "include_usage": True}))
    # Everything on the wire but the random completion id, which may hold "450" by chance.
    for wire in map(json.dumps, ({**c, "id": ""} for c in (whole, *chunks[:-1]))):
        assert "450" not in wire and "arrangement" not in wire and "[7]" not in wire
    assert "70 percent" in _streamed_text(chunks)
    checked.close()


class _Busy(FakeGenerator):
    def stream(self, messages: list[dict[str, str]], config: GenerationConfig) -> Iterator[str]:
        raise ModelBusyError(5)
        yield ""  # pragma: no cover


def test_a_busy_model_is_a_503_or_an_error_chunk(services: Services) -> None:
    busy = _built(services, "busy", _Busy())
    headers = _reader(busy)
    with TestClient(create_app(busy, warm_up=False)) as http:
        whole = http.post(COMPLETIONS, json=chat(LTV_QUESTION), headers=headers)
        assert _is_openai_error(whole, 503, "unavailable")["type"] == "server_error"
        assert whole.headers["retry-after"] == "30"
        chunks = _stream(http, headers, chat(LTV_QUESTION))
    role, error, done = chunks
    assert role["choices"][0]["delta"]["role"] == "assistant" and done == "[DONE]"
    assert error == {"error": {"message": str(ModelBusyError(5)), "type": "server_error",
                               "param": None, "code": "unavailable"}}
    busy.close()


def test_a_client_gone_mid_stream_closes_the_answer_and_is_audited(services: Services) -> None:
    closed: list[bool] = []

    def answer() -> Iterator[AnswerEvent]:
        try:
            yield DraftText("The maximum is 75 percent.")
            yield CheckedSentence(0, "The maximum is 70 percent [1].", True)
            yield CheckedSentence(1, "It applies to buy-to-let.", True)
        finally:
            closed.append(True)

    identity = Identity("ines", frozenset({"lending"}), frozenset({"employee"}), "api_key")
    asked = Asked(services, identity, Channel.OPENAI, Query("What is the LTV?"))

    async def one_sentence_then_leave() -> list[str]:
        stream = _chunks(asked, answer(), _Reply("chatcmpl-1", 0, "http://testserver"), False)
        received = [(await stream.__anext__())["data"], (await stream.__anext__())["data"]]
        await stream.aclose()  # what sse-starlette does when the client disconnects
        return received

    role, sentence = anyio.run(one_sentence_then_leave)
    assert json.loads(role)["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert json.loads(sentence)["choices"][0]["delta"] == {
        "content": "The maximum is 70 percent [1]."}
    assert closed == [True]
    [record] = _asks(services)
    assert record["interrupted"] is True and record["channel"] == "openai"
    assert record["sent"] == "The maximum is 70 percent [1]." and record["user"] == "ines"


def test_a_follow_up_is_rewritten_answered_and_audited_as_its_standalone_question(
    client: TestClient, services: Services
) -> None:
    generator = services.generator
    assert isinstance(generator, FakeGenerator)
    generator.rewrites["And for letting it out?"] = LTV_QUESTION
    messages = [{"role": "user", "content": "What is the maximum loan-to-value?"},
                {"role": "assistant", "content": "It depends on the mortgage [1]." + SOURCES},
                {"role": "user", "content": "And for letting it out?"}]
    body = client.post(COMPLETIONS, json={"model": "coffre", "messages": messages},
                       headers=_reader(services)).json()
    assert generator.rewritten, "the follow-up was not rewritten"
    assert "70 percent" in body["choices"][0]["message"]["content"]
    [record] = _asks(services)
    assert record["question"] == "And for letting it out?"
    assert record["standalone_question"] == LTV_QUESTION
    assert record["channel"] == Channel.OPENAI
