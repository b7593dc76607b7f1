"""`POST /v1/ask`: an answer with cited sources, as JSON or as server-sent events."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Iterator
from contextlib import aclosing
from typing import Annotated

from fastapi import APIRouter, Header
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from api import access
from api.auditing import Channel
from api.http.answering import Asked, Failed, Recorded, audited, record_answer
from api.http.deps import Caller, ServicesDep
from api.http.schemas.ask import AskRequest, AskResponse
from api.http.schemas.common import requested_filter
from rag.answers import AnswerEvent, CheckedSentence, DraftText, Query

router = APIRouter()

CHAT_PAGE = "chat-page"  # the X-Coffre-Client header the chat page sends

STREAM_DESCRIPTION = (
    "JSON answer, or server-sent events when stream=true: 'draft' events ({\"text\"}: the "
    "model's raw text as generated, not checked yet), 'sentence' events ({\"index\", "
    "\"text\", \"verified\"}: each sentence once checked against its sources; a sentence "
    "the checks change or drop is never sent in its draft form), then one 'answer' event "
    "(the AskResponse).")


def _event(name: str, data: str) -> dict[str, str]:
    return {"event": name, "data": data}


async def _sse(
    asked: Asked, events: Iterator[AnswerEvent]
) -> AsyncGenerator[dict[str, str], None]:
    """'token' events from the draft, then one 'answer' event once it is on the record.

    A client that goes away mid-answer closes the answer's stream and is audited with the
    tokens it was sent (`audited`); an error once the response has started is an event.
    """
    sent: list[str] = []
    async with aclosing(audited(asked, events, sent)) as stream:
        async for item in stream:
            match item:
                case DraftText(text=text):
                    sent.append(text)
                    yield _event("draft", json.dumps({"text": text}))
                case CheckedSentence(index=index, text=text, verified=verified):
                    yield _event("sentence", json.dumps(
                        {"index": index, "text": text, "verified": verified}))
                case Recorded(answer=answer):
                    yield _event("answer", AskResponse.of(answer).model_dump_json())
                case Failed(error=error):
                    yield _event("error", json.dumps({"detail": str(error)}))
                case _:
                    pass  # the passages found come with the answer


@router.post(
    "/v1/ask",
    response_model=AskResponse,
    summary="Answer a question with cited sources",
    responses={200: {"description": STREAM_DESCRIPTION}},
)
async def ask(
    body: AskRequest, identity: Caller, services: ServicesDep,
    x_coffre_client: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> AskResponse | EventSourceResponse:
    """Answer from the passages the caller may read; every answer is audited first.

    The chat page says so (`X-Coffre-Client: chat-page`): its answers are filed under the
    web channel, the rest under http.
    """
    access.require_reader(identity)
    query = Query(body.question, history=tuple(t.turn() for t in body.history),
                  search_filter=access.search_filter(identity, requested_filter(body.filters)),
                  top_k=body.top_k, mode=body.mode, conversation_id=body.conversation_id)
    channel = Channel.WEB if x_coffre_client == CHAT_PAGE else Channel.HTTP
    ticket = services.admission.admit()  # "busy, ask again in N s" before anything starts
    asked = Asked(services, identity, channel, query, ticket)
    if not body.stream:
        async with ticket:
            answer = await run_in_threadpool(services.answerer.ask, query)
        await run_in_threadpool(record_answer, asked, answer)
        return AskResponse.of(answer)
    return EventSourceResponse(_sse(asked, services.answerer.stream(query)))
