"""What the bot remembers of a Teams conversation: its recent turns, so follow-ups work.

Only in memory, only the newest turns of the most recently active conversations: a restart
forgets them, as a chat front end's new chat would. Each person's turns are kept apart even
in a group chat or channel, so a follow-up is only ever rewritten from what that person
asked and was answered, never from a colleague's question. Turns of one person in one
conversation are answered in order (`lock`), so a quick follow-up sees the answer before it.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from dataclasses import dataclass, field

from rag.answers import Speaker, Turn

MAX_TURNS = 12  # six questions and answers; the answerer keeps what fits its token budget
MAX_CONVERSATIONS = 1000


@dataclass(frozen=True)
class Thread:
    """One person's side of a conversation: the Teams conversation id and the Coffre user."""

    conversation_id: str
    user: str


@dataclass
class _Kept:
    turns: deque[Turn]
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class ConversationMemory:
    """The newest `max_turns` turns of the `max_conversations` most recently used threads."""

    def __init__(self, max_turns: int = MAX_TURNS,
                 max_conversations: int = MAX_CONVERSATIONS) -> None:
        self.max_turns = max_turns
        self.max_conversations = max_conversations
        self._threads: OrderedDict[Thread, _Kept] = OrderedDict()

    def _kept(self, thread: Thread) -> _Kept:
        kept = self._threads.get(thread)
        if kept is None:
            kept = self._threads[thread] = _Kept(deque(maxlen=self.max_turns))
            while len(self._threads) > self.max_conversations:
                self._threads.popitem(last=False)  # the least recently used thread
        self._threads.move_to_end(thread)
        return kept

    def lock(self, thread: Thread) -> asyncio.Lock:
        """Held while one of the thread's questions is answered."""
        return self._kept(thread).lock

    def history(self, thread: Thread) -> tuple[Turn, ...]:
        """The thread's turns, oldest first (`Query.history`); none for a thread not kept."""
        kept = self._threads.get(thread)
        if kept is None:
            return ()
        self._threads.move_to_end(thread)
        return tuple(kept.turns)

    def remember(self, thread: Thread, question: str, answer: str) -> None:
        """Add a question and the answer it was given."""
        turns = self._kept(thread).turns
        turns.append(Turn(Speaker.USER, question))
        turns.append(Turn(Speaker.ASSISTANT, answer))

    def __len__(self) -> int:
        return len(self._threads)
