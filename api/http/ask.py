"""`POST /v1/ask`: an answer with cited sources, as JSON or as server-sent events."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Iterator
from contextlib import aclosing

from fastapi import APIRouter
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from api import access
from api.auditing import Channel, append, ask_record, interrupted_record
from api.auth import Identity
from api.http.deps import Caller, ServicesDep
from api.http.schemas.ask import AskRequest, AskResponse
from api.http.schemas.common import requested_filter
from api.streaming import off_the_loop, shielded
from api.wiring import Services
from indexes.errors import AuditError, CoffreError
from rag.answers import Answer, AnswerEvent, DraftText, Finished, Query

router = APIRouter()

STREAM_DESCRIPTION = ("JSON answer, or server-sent events when stream=true: "
                      "'token' events ({\"text\"}) then one 'answer' event (the AskResponse).")


def _record_answer(services: Services, identity: Identity, answer: Answer) -> None:
    """Put the answer on the record (blocking: the model's hash may be read here)."""
    append(services.audit, ask_record(identity, Channel.HTTP, answer, services.provenance()))


def _record_interrupted(
    services: Services, identity: Identity, question: str, sent: str
) -> None:
    append(services.audit, interrupted_record(identity, Channel.HTTP, question, sent,
                                              services.provenance()))


def _event(name: str, data: str) -> dict[str, str]:
    return {"event": name, "data": data}


async def _sse(
    services: Services, identity: Identity, query: Query, events: Iterator[AnswerEvent]
) -> AsyncGenerator[dict[str, str], None]:
    """'token' events from the draft, then one 'answer' event once it is on the record.

    A client that goes away mid-answer closes the answer's stream (the model is freed at
    once) and what it had been sent is audited as an interrupted answer.
    """
    sent: list[str] = []
    finished = False
    try:
        async with aclosing(off_the_loop(events)) as stream:
            async for event in stream:
                match event:
                    case DraftText(text=text):
                        sent.append(text)
                        yield _event("token", json.dumps({"text": text}))
                    case Finished(answer=answer):
                        finished = True
                        try:
                            await run_in_threadpool(_record_answer, services, identity, answer)
                        except AuditError as exc:
                            yield _event("error", json.dumps({"detail": str(exc)}))
                            return
                        yield _event("answer", AskResponse.of(answer).model_dump_json())
                    case _:
                        pass  # passages found, checked sentences: not shown on this channel
    except CoffreError as exc:
        # The response has started (200): the error travels as an event.
        finished = True
        yield _event("error", json.dumps({"detail": str(exc)}))
    finally:
        if not finished:
            # The client went away mid-answer: what it was sent is on the record.
            await shielded(_record_interrupted, services, identity, query.question,
                           "".join(sent))


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
        await run_in_threadpool(_record_answer, services, identity, answer)
        return AskResponse.of(answer)
    events = services.answerer.stream(query)
    return EventSourceResponse(_sse(services, identity, query, events))
