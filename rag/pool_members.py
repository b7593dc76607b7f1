"""What a generator pool is made of: its members, what it knows of each, its streams.

`rag.pool.GeneratorPool` routes between members; these are the values it hands out and
keeps (a member's status for health reports, the stream that names where it was generated,
the key under which a paused reply remembers its member).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from collections.abc import Generator as Pieces
from dataclasses import dataclass

from rag.generation import Generator


@dataclass(frozen=True)
class Member:
    """One generator of a pool: its name in the audit trail, how many answers it takes at
    once, and its health probe (raises EndpointError when unwell; None: never probed)."""

    name: str
    generator: Generator
    capacity: int = 1
    probe: Callable[[], None] | None = None


@dataclass(frozen=True)
class MemberStatus:
    """One member as the pool sees it now: in service or out (and why), answers running."""

    name: str
    up: bool
    in_flight: int
    failure: str | None


@dataclass
class MemberState:
    """What the pool knows of one member (changed under the pool's lock)."""

    in_flight: int = 0
    served: int = 0  # requests given, so that idle members take turns
    up: bool = True  # until it fails: a first request needs no health check before it
    failure: str | None = None  # why it is out


class Where:
    """The member a stream went to, once its first piece came."""

    name: str | None = None


class PoolStream:
    """The pieces of one reply from a pool, with the member that generates them."""

    def __init__(self, pieces: Pieces[str, None, None], where: Where) -> None:
        self._pieces = pieces
        self._where = where

    @property
    def served_by(self) -> str | None:
        """The member's name (an endpoint's URL, `local:N`); None before the first piece."""
        return self._where.name

    def __iter__(self) -> PoolStream:
        return self

    def __next__(self) -> str:
        return next(self._pieces)

    def close(self) -> None:
        """Stop generating and give the member back."""
        self._pieces.close()


def reply_key(messages: list[dict[str, str]], reply: str) -> str:
    """Identity of a reply in the making: the chat it answers and its text so far (a chat
    whose last message is the assistant's is that reply continued)."""
    if messages and messages[-1]["role"] == "assistant":
        messages, reply = messages[:-1], messages[-1]["content"] + reply
    digest = hashlib.sha256(json.dumps(messages, sort_keys=True).encode("utf-8"))
    digest.update(b"\0" + reply.encode("utf-8"))
    return digest.hexdigest()
