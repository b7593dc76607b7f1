"""The Teams bot's turns: every message answered, or told why not, once Teams has its 202.

Teams gives a bot 15 seconds to acknowledge a message and an answer takes longer, so the
turn only starts the reply and returns. The reply runs in its own task on the SDK's
proactive path (`continue_conversation_with_claims`, with its own connector client, the
turn's being closed by then), threaded under the question (`replyToId`): first the typing
indicator, then the answer, audited as every channel's (`api.http.answering.audited`), with
only checked sentences shown, since Teams cannot take text back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import aclosing

import anyio
from microsoft_agents.activity import Activity, ChannelAccount
from microsoft_agents.hosting.core import ActivityHandler, TurnContext
from starlette.concurrency import run_in_threadpool

from api import access
from api.admission import Ticket
from api.auditing import Channel
from api.auth import Identity
from api.errors import ForbiddenError, TooBusyError
from api.http.answering import Asked, Failed, Recorded, audited
from api.teams import messages
from api.teams.cards import (
    answer_activity,
    notice_activity,
    refusal_activity,
    sources,
    typing_activity,
)
from api.teams.config import TeamsConfig
from api.teams.identities import IdentityFile, TeamsUser
from api.teams.memory import ConversationMemory, Thread
from api.teams.records import RefusalCause, RefusedSender, record_refused
from api.wiring import Services
from indexes.errors import CoffreError
from rag.answers import Answer, CheckedSentence, Query

log = logging.getLogger("coffre.teams")

Reply = Callable[[TurnContext, Activity], Awaitable[None]]


def continuation(activity: Activity) -> Activity:
    """The SDK's continuation of a conversation, keeping the inbound activity's id, so that
    what is sent on it replies to that activity (`replyToId`)."""
    following = activity.get_conversation_reference().get_continuation_activity()
    following.id = activity.id
    return following


class Replies:
    """Replies sent after the turn that asked for them ended, each in its own task.

    Each runs in its own anyio cancel scope, which `close` cancels: a native task
    cancellation would not wait for the model's token in progress (`off_the_loop` does, for
    an anyio cancellation), and the answer's stream would be closed while still running.
    """

    def __init__(self) -> None:
        self._running: dict[asyncio.Task[None], anyio.CancelScope] = {}

    def start(self, context: TurnContext, reply: Reply) -> None:
        """Run `reply(proactive context, inbound activity)` once this turn has returned."""
        inbound = context.activity
        identity = context.identity
        assert identity is not None  # the route always hands the SDK the verified claims
        adapter = context.adapter
        scope = anyio.CancelScope()

        async def run(proactive: TurnContext) -> None:
            await reply(proactive, inbound)

        async def guarded() -> None:
            with scope:
                await adapter.continue_conversation_with_claims(identity, continuation(inbound),
                                                                run)

        task = asyncio.get_running_loop().create_task(guarded())
        self._running[task] = scope
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.pop(task, None)
        if not task.cancelled() and task.exception() is not None:
            # Before the SDK's pipeline (no connector client): on_turn_error never saw it.
            log.error("a Teams reply could not be sent: %s", task.exception(),
                      exc_info=task.exception())

    async def wait(self) -> None:
        """Until every reply started so far has been sent (or failed)."""
        while self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    async def close(self) -> None:
        """Stop the replies still running (an answer cut short is audited as interrupted)."""
        for scope in list(self._running.values()):
            scope.cancel()
        await self.wait()


class TeamsBot(ActivityHandler):
    """Coffre in Teams: questions answered from what their sender may read."""

    def __init__(self, services: Services, config: TeamsConfig, identities: IdentityFile,
                 memory: ConversationMemory | None = None) -> None:
        self.services = services
        self.config = config
        self.identities = identities
        self.memory = memory or ConversationMemory()
        self.replies = Replies()

    async def on_message_activity(self, turn_context: TurnContext) -> None:  # type: ignore[override]
        """A message: answered in the background."""
        self.replies.start(turn_context, self._message)

    async def on_members_added_activity(  # type: ignore[override]
        self, members_added: list[ChannelAccount], turn_context: TurnContext
    ) -> None:
        """The bot added to a chat or team: a short welcome; anyone else joining: nothing."""
        recipient = turn_context.activity.recipient
        if recipient is not None and any(m.id == recipient.id for m in members_added):
            self.replies.start(turn_context, self._welcome)

    async def _welcome(self, context: TurnContext, _: Activity) -> None:
        await context.send_activity(notice_activity(messages.WELCOME))

    async def _message(self, context: TurnContext, activity: Activity) -> None:
        question = messages.read_question(activity)
        if isinstance(question, messages.Unanswerable):
            await context.send_activity(notice_activity(question.reply))
            return
        identity = await self._identify(context, activity)
        if identity is None:
            return
        try:
            ticket = self.services.admission.admit()  # all slots and places taken: say so now
        except TooBusyError as busy:
            await context.send_activity(notice_activity(messages.failed(busy)))
            return
        conversation_id = activity.conversation.id if activity.conversation else ""
        thread = Thread(conversation_id, identity.user)
        async with self.memory.lock(thread):
            await context.send_activity(typing_activity())
            await self._answer(context, identity, thread, question.text, ticket)

    async def _identify(self, context: TurnContext, activity: Activity) -> Identity | None:
        """The sender's Coffre identity if they may ask; else they are told, and it is
        recorded."""
        who = messages.teams_user(activity)
        try:
            identity = await run_in_threadpool(self.identities.identify, who) if who else None
        except CoffreError as exc:
            log.error("cannot identify a Teams user: %s", exc)
            await context.send_activity(notice_activity(
                messages.cannot_identify(self.config.contact)))
            return None
        if identity is None:
            await self._refused(activity, who, None, RefusalCause.UNREGISTERED)
            await context.send_activity(notice_activity(
                messages.unregistered(self.config.contact)))
            return None
        try:
            access.require_reader(identity)
        except ForbiddenError:
            await self._refused(activity, who, identity, RefusalCause.ROLE)
            await context.send_activity(notice_activity(
                messages.not_allowed(self.config.contact)))
            return None
        return identity

    async def _refused(self, activity: Activity, who: TeamsUser | None,
                       identity: Identity | None, cause: RefusalCause) -> None:
        tenant, object_id = (who.tenant_id, who.object_id) if who else ("", "")
        user = identity.user if identity else f"teams:{tenant or '?'}/{object_id or '?'}"
        conversation_id = activity.conversation.id if activity.conversation else ""
        refused = RefusedSender(user, tenant, object_id, conversation_id or "", cause)
        try:
            await run_in_threadpool(record_refused, self.services.audit, refused)
        except CoffreError as exc:  # the user is still told why they get no answer
            log.error("could not record a refused Teams user: %s", exc)

    async def _answer(self, context: TurnContext, identity: Identity, thread: Thread,
                      question: str, ticket: Ticket) -> None:
        """Answer, audited; the reply sent once the answer is on the record."""
        query = Query(question, history=self.memory.history(thread),
                      search_filter=access.search_filter(identity),
                      conversation_id=thread.conversation_id)
        asked = Asked(self.services, identity, Channel.TEAMS, query, ticket)
        sentences: list[str] = []
        sent: list[str] = []  # nothing reaches Teams before the answer is on the record
        events = self.services.answerer.stream(query)
        async with aclosing(audited(asked, events, sent)) as stream:
            async for item in stream:
                match item:
                    case CheckedSentence(text=text):
                        sentences.append(text)
                    case Recorded(answer=answer):
                        shown = await self._send_answer(context, answer, sentences)
                        self.memory.remember(thread, question, shown)
                    case Failed(error=error):
                        await context.send_activity(notice_activity(messages.failed(error)))
                    case _:
                        pass  # the passages found; the draft, which Teams cannot take back

    async def _send_answer(self, context: TurnContext, answer: Answer,
                           sentences: list[str]) -> str:
        """Send the answer's card (or its "I don't know"); the text shown."""
        if answer.refused or not sentences:
            await context.send_activity(refusal_activity(answer.text))
            return answer.text
        text = " ".join(sentences)
        cited = sources(answer.citations, self.config.base_url)
        await context.send_activity(answer_activity(text, cited, quotes=self.config.quotes))
        return text
