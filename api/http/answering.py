"""What the answer routes share (`/v1/ask`, `/v1/chat/completions`): an answer put on the
record, and an answer stream served off the loop, audited as interrupted if the client goes.

Each route chooses what of the stream it shows and how it writes it; the order of things,
the audit records and the closing of the model's stream are the same for every channel.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterator
from contextlib import aclosing
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool

from api.admission import Ticket
from api.auditing import Channel, append, ask_record, interrupted_record
from api.auth import Identity
from api.streaming import off_the_loop, shielded
from api.wiring import Services
from indexes.errors import AuditError, CoffreError
from rag.answers import Answer, AnswerEvent, CheckedSentence, DraftText, Finished, Query, Retrieved


@dataclass(frozen=True)
class Asked:
    """One question being answered: for whom, through which channel, over which services."""

    services: Services
    identity: Identity
    channel: Channel
    query: Query
    # Its admission, taken before the response started (None: taken when the answer starts).
    ticket: Ticket | None = None


@dataclass(frozen=True)
class Recorded:
    """The finished answer, now on the record: the channel may send it."""

    answer: Answer


@dataclass(frozen=True)
class Failed:
    """The answer failed after the response had started (200): the error goes in the stream."""

    error: CoffreError


Served = Retrieved | DraftText | CheckedSentence | Recorded | Failed


def record_answer(asked: Asked, answer: Answer) -> None:
    """Put the answer on the record (blocking: the model's hash may be read here)."""
    services = asked.services
    entry = ask_record(asked.identity, asked.channel, answer, services.provenance(),
                       asked.query.conversation_id)
    with services.metrics.timing_audit_write():
        append(services.audit, entry)
    services.metrics.answered(asked.channel, answer)  # counted once on the record only


def record_interrupted(asked: Asked, sent: str) -> None:
    """Put on the record an answer cut short, with what the client had been sent of it."""
    services = asked.services
    append(services.audit, interrupted_record(asked.identity, asked.channel,
                                              asked.query.question, sent,
                                              services.provenance(),
                                              asked.query.conversation_id))


async def audited(
    asked: Asked, events: Iterator[AnswerEvent], sent: list[str]
) -> AsyncGenerator[Served, None]:
    """The answer's events, its Finished answer only once it is on the record (`Recorded`).

    The answer first takes the slot of its ticket (api/admission.py), waiting in the queue
    on the loop if it must. The channel appends to `sent` what it sends. A client that goes
    away, queued or mid-answer, leaves the queue or closes the answer's stream (the model is
    freed at once),
    and what it had been sent is audited as an interrupted answer. An error once the
    response has started (a wait past the queue's deadline included) comes as `Failed`.
    """
    finished = False
    try:
        ticket = asked.ticket or asked.services.admission.admit()
        async with ticket, aclosing(off_the_loop(events)) as stream:
            async for event in stream:
                if not isinstance(event, Finished):
                    yield event
                    continue
                finished = True
                try:
                    await run_in_threadpool(record_answer, asked, event.answer)
                except AuditError as exc:
                    yield Failed(exc)  # no record, no answer
                    return
                yield Recorded(event.answer)
    except CoffreError as exc:
        finished = True
        yield Failed(exc)
    finally:
        if not finished:
            # The client went away mid-answer: what it was sent is on the record.
            asked.services.metrics.answer_interrupted(asked.channel)
            await shielded(record_interrupted, asked, "".join(sent))
