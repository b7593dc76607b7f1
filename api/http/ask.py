"""`POST /v1/ask`: an answer with cited sources, as JSON or as server-sent events."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Iterator
from contextlib import aclosing

from fastapi import APIRouter
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from api import access
from api.auditing import Channel
from api.auth import Identity
from api.http.answering import Asked, Failed, Recorded, audited, record_answer
from api.http.deps import Caller, ServicesDep
from api.http.schemas.ask import AskRequest, AskResponse
from api.http.schemas.common import requested_filter
from api.wiring import Services
from rag.answers import AnswerEvent, DraftText, Query

router = APIRouter()

STREAM_DESCRIPTION = ("JSON answer, or server-sent events when stream=true: "
                      "'token' events ({\"text\"}) then one 'answer' event (the AskResponse).")


def _event(name: str, data: str) -> dict[str, str]:
    return {"event": name, "data": data}


async def _sse(
    services: Services, identity: Identity, query: Query, events: Iterator[AnswerEvent]
) -> AsyncGenerator[dict[str, str], None]:
    """'token' events from the draft, then one 'answer' event once it is on the record.

    A client that goes away mid-answer closes the answer's stream and is audited with the
    tokens it was sent (`audited`); an error once the response has started is an event.
    """
    sent: list[str] = []
    asked = Asked(services, identity, Channel.HTTP, query)
    async with aclosing(audited(asked, events, sent)) as stream:
        async for item in stream:
            match item:
                case DraftText(text=text):
                    sent.append(text)
                    yield _event("token", json.dumps({"text": text}))
                case Recorded(answer=answer):
                    yield _event("answer", AskResponse.of(answer).model_dump_json())
                case Failed(error=error):
                    yield _event("error", json.dumps({"detail": str(error)}))
                case _:
                    pass  # passages found, checked sentences: not shown on this channel


@router.post(
    "/v1/ask",
    response_model=AskResponse,
    summary="Answer a question with cited sources",
    responses={200: {"description": STREAM_DESCRIPTION}},
)
async def ask(
    body: AskRequest, identity: Caller, services: ServicesDep
) -> AskResponse | EventSourceResponse:
    """Answer from the passages the caller may read; every answer is audited first."""
    access.require_reader(identity)
    query = Query(body.question, search_filter=access.search_filter(
        identity, requested_filter(body.filters)), top_k=body.top_k, mode=body.mode)
    if not body.stream:
        answer = await run_in_threadpool(services.answerer.ask, query)
        await run_in_threadpool(record_answer, Asked(services, identity, Channel.HTTP, query),
                                answer)
        return AskResponse.of(answer)
    events = services.answerer.stream(query)
    return EventSourceResponse(_sse(services, identity, query, events))
