"""`POST /v1/chat/completions` and `GET /v1/models`: Coffre for the chat front ends a bank
already runs (Open WebUI, LibreChat, anything speaking the OpenAI API), with the same keys
and identity-provider tokens as the rest of the API, so each user keeps their own groups.

Only checked text goes on the wire: an OpenAI client cannot take text back, so the model's
draft is never sent. The answer's checked sentences are, one chunk each as soon as each is
checked, then the list of the sources cited with a `url_citation` annotation for each [n]
marker (or, for a refusal, its text). Every answer is audited as `/v1/ask`'s are.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncGenerator, Iterator
from contextlib import aclosing
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from api import access
from api.auditing import Channel
from api.http.answering import Asked, Failed, Recorded, audited, record_answer
from api.http.deps import Caller, ServicesDep
from api.http.schemas.annotations import url_citations
from api.http.schemas.chat import (
    MODEL_ID,
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    ChatRequest,
    Choice,
    ChunkChoice,
    CoffreDetails,
    Delta,
    ErrorBody,
    ErrorDetail,
    ModelCard,
    ModelList,
    Usage,
    closing_piece,
    content,
    sentence_piece,
)
from indexes.errors import CoffreError
from rag.answers import Answer, AnswerEvent, CheckedSentence, Finished, Query
from rag.generation import closing_stream

router = APIRouter()

# The routes whose errors are written OpenAI's way (app.py's error mapping asks).
PATHS = frozenset({"/v1/chat/completions", "/v1/models"})
_LISTED_SINCE = int(time.time())  # a model card's `created`: when this server started
_DONE = {"data": "[DONE]"}
# OpenAI's error `type` and `code` by status; any other status: by its class (4xx, 5xx).
_ERROR_KINDS: dict[int, tuple[str, str | None]] = {
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_error", "forbidden"),
    404: ("invalid_request_error", "not_found"),
    422: ("invalid_request_error", "invalid_value"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
    503: ("server_error", "unavailable"),
}
STREAM_DESCRIPTION = (
    "chat.completion JSON, or with stream=true server-sent `data:` lines: "
    "chat.completion.chunk objects (role, checked sentences, sources, finish), then [DONE]")


def speaks_openai(request: Request) -> bool:
    """Whether a request's errors must be written OpenAI's way (these routes only)."""
    return request.url.path in PATHS


def error_body(status: int, message: str, param: str | None = None) -> ErrorBody:
    """An error as OpenAI clients read it, typed by its HTTP status."""
    kind, code = _ERROR_KINDS.get(
        status, ("server_error" if status >= 500 else "invalid_request_error", None))
    return ErrorBody(error=ErrorDetail(message=message, type=kind, param=param, code=code))


def coffre_error(exc: CoffreError) -> JSONResponse:
    """A Coffre error on these routes: its status and headers, OpenAI's body."""
    return JSONResponse(error_body(exc.http_status, str(exc)).model_dump(),
                        status_code=exc.http_status, headers=exc.headers)


def validation_error(exc: RequestValidationError) -> JSONResponse:
    """A request body these routes cannot read: 422, every problem named; `param` is where
    they all are (`messages.0.content`, whichever content format was meant)."""
    places = [[str(p) for p in e["loc"] if p != "body"] for e in exc.errors()]
    message = "; ".join(f"{'.'.join(place)}: {e['msg']}" if place else e["msg"]
                        for place, e in zip(places, exc.errors(), strict=True))
    body = error_body(422, message or "invalid request", ".".join(_shared_start(places)) or None)
    return JSONResponse(body.model_dump(), status_code=422)


def _shared_start(places: list[list[str]]) -> list[str]:
    """The location every problem lies under (all of it, for one problem)."""
    shared = places[0] if places else []
    for place in places[1:]:
        while place[:len(shared)] != shared:
            shared = shared[:-1]
    return shared


@dataclass(frozen=True)
class _Reply:
    """The completion being written: its id and creation time, shared by all its chunks, and
    the address its passage links start with."""

    id: str
    created: int
    links: str

    def chunk(self, delta: Delta, *, finish: bool = False,
              coffre: CoffreDetails | None = None) -> dict[str, str]:
        """A chunk of the one choice, as a server-sent event."""
        choice = ChunkChoice(delta=delta, finish_reason="stop" if finish else None)
        return self._event(ChatCompletionChunk(id=self.id, created=self.created,
                                               model=MODEL_ID, choices=[choice], coffre=coffre))

    def usage_chunk(self, usage: Usage, coffre: CoffreDetails) -> dict[str, str]:
        """The last chunk with `stream_options.include_usage`: no choice, the token counts."""
        return self._event(ChatCompletionChunk(id=self.id, created=self.created,
                                               model=MODEL_ID, choices=[], usage=usage,
                                               coffre=coffre))

    @staticmethod
    def _event(chunk: ChatCompletionChunk) -> dict[str, str]:
        return {"data": chunk.model_dump_json()}


def _failure(error: CoffreError) -> list[dict[str, str]]:
    # The response has started (200): the error travels as a chunk, as OpenAI sends it.
    return [{"data": error_body(error.http_status, str(error)).model_dump_json()}, _DONE]


def _usage(asked: Asked, sent: str) -> Usage:
    """Tokens of the question and its history, and of the content sent (blocking: the
    answer model may be loaded here)."""
    count = asked.services.generator.count_tokens
    query = asked.query
    prompt = count(query.question) + sum(count(turn.text) for turn in query.history)
    return Usage.of(prompt, count(sent))


async def _ending(
    asked: Asked, reply: _Reply, answer: Answer, sentences: list[str], include_usage: bool
) -> list[dict[str, str]]:
    """After the sentences: the sources (with every marker's url_citation) or the refusal,
    the finish chunk, the usage, [DONE].

    The full citations ride on the last chunk before [DONE].
    """
    sent = "".join(sentence_piece(s, i == 0) for i, s in enumerate(sentences))
    closing = closing_piece(answer)
    details = CoffreDetails.of(answer)
    notes = url_citations(sentences, answer, reply.links)
    ending = [reply.chunk(Delta(content=closing, annotations=notes or None))] if closing else []
    ending.append(reply.chunk(Delta(), finish=True, coffre=None if include_usage else details))
    if include_usage:
        usage = await run_in_threadpool(_usage, asked, sent + closing)
        ending.append(reply.usage_chunk(usage, details))
    return [*ending, _DONE]


async def _chunks(
    asked: Asked, events: Iterator[AnswerEvent], reply: _Reply, include_usage: bool
) -> AsyncGenerator[dict[str, str], None]:
    """The role chunk at once, a chunk per checked sentence, then the ending.

    A client that goes away mid-answer closes the answer's stream and is audited with the
    content it was sent (`audited`).
    """
    sent: list[str] = []
    sentences: list[str] = []
    yield reply.chunk(Delta(role="assistant", content=""))
    async with aclosing(audited(asked, events, sent)) as stream:
        async for item in stream:
            match item:
                case CheckedSentence(text=text):
                    piece = sentence_piece(text, first=not sent)
                    sent.append(piece)
                    sentences.append(text)
                    yield reply.chunk(Delta(content=piece))
                case Recorded(answer=answer):
                    try:
                        ending = await _ending(asked, reply, answer, sentences, include_usage)
                    except CoffreError as exc:
                        ending = _failure(exc)
                    for event in ending:
                        yield event
                case Failed(error=error):
                    for event in _failure(error):
                        yield event
                case _:
                    pass  # passages found; the draft, which such a client cannot take back


def _collect(events: Iterator[AnswerEvent]) -> tuple[list[str], Answer]:
    """The checked sentences and the finished answer of a whole stream (blocking)."""
    sentences: list[str] = []
    with closing_stream(events) as stream:
        for event in stream:
            if isinstance(event, CheckedSentence):
                sentences.append(event.text)
            elif isinstance(event, Finished):
                return sentences, event.answer
    raise AssertionError("stream ended without an answer")  # pragma: no cover


async def _complete(asked: Asked, reply: _Reply) -> ChatCompletion:
    """The whole answer at once, with the same content its stream would have sent."""
    events = asked.services.answerer.stream(asked.query)
    async with asked.ticket or asked.services.admission.admit():
        sentences, answer = await run_in_threadpool(_collect, events)
    await run_in_threadpool(record_answer, asked, answer)
    text = content(sentences, answer)
    usage = await run_in_threadpool(_usage, asked, text)
    notes = url_citations(sentences, answer, reply.links)
    message = AssistantMessage(content=text, annotations=notes)
    return ChatCompletion(id=reply.id, created=reply.created, model=MODEL_ID,
                          choices=[Choice(message=message)],
                          usage=usage, coffre=CoffreDetails.of(answer))


@router.post(
    "/v1/chat/completions",
    response_model=ChatCompletion,
    summary="OpenAI-compatible chat: the last user message answered with cited sources",
    responses={200: {"description": STREAM_DESCRIPTION}},
)
async def chat_completions(
    body: ChatRequest, identity: Caller, services: ServicesDep, request: Request
) -> ChatCompletion | EventSourceResponse:
    """Answer the last user message from the passages the caller may read, the earlier
    messages as its history; every answer is audited first."""
    access.require_reader(identity)
    question, history = body.conversation()
    query = Query(question, history=history, search_filter=access.search_filter(identity))
    # A 429 a client can retry, before the response starts.
    asked = Asked(services, identity, Channel.OPENAI, query, services.admission.admit())
    # Links to passages: COFFRE_PUBLIC_URL, else the address this request came to.
    links = services.settings.public_url.rstrip("/") or str(request.base_url).rstrip("/")
    reply = _Reply(f"chatcmpl-{uuid.uuid4().hex}", int(time.time()), links)
    if not body.stream:
        return await _complete(asked, reply)
    include_usage = body.stream_options is not None and body.stream_options.include_usage
    events = services.answerer.stream(query)
    # Plain `data:` lines ending in a bare newline, as OpenAI's own stream.
    return EventSourceResponse(_chunks(asked, events, reply, include_usage), sep="\n")


@router.get("/v1/models", response_model=ModelList, summary="The model chat front ends select")
async def models(identity: Caller) -> ModelList:
    """One model, Coffre itself, whichever answer model it runs (the audit trail names it)."""
    access.require_reader(identity)
    return ModelList(data=[ModelCard(id=MODEL_ID, created=_LISTED_SINCE)])
