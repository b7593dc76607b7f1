"""What the HTTP and CLI tests share: a small library with groups, callers' keys."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from api.wiring import Services
from tests.unit.fakes import FakeEmbedder, make_item

LTV_TEXT = "The maximum loan-to-value for a buy-to-let mortgage is 70 percent of the valuation."
LTV_ANSWER = "The maximum loan-to-value for a buy-to-let mortgage is 70 percent [1]."
LTV_QUESTION = "What is the maximum loan-to-value for a buy-to-let mortgage?"
CARD_TEXT = "The card fee is five euros per month for a classic debit card."
BOARD_TEXT = "The board approved the merger with the northern savings bank in March."


@dataclass(frozen=True)
class Library:
    """The ids of the test library's documents and of their one chunk each, by short name:
    policy (group lending), cards (retail), board (board)."""

    doc_ids: dict[str, str]
    chunk_ids: dict[str, str]


def library(services: Services) -> Library:
    """Index the three documents of the test library through `services`."""
    embedder = services.embedder
    assert isinstance(embedder, FakeEmbedder)
    items = {
        "policy": make_item(embedder, "Retail Credit Policy", [LTV_TEXT], groups=("lending",)),
        "cards": make_item(embedder, "Card tariffs", [CARD_TEXT], groups=("retail",)),
        "board": make_item(embedder, "Board minutes", [BOARD_TEXT], groups=("board",)),
    }
    services.index.add(list(items.values()))
    return Library({name: item.document.doc_id for name, item in items.items()},
                   {name: item.chunks[0].chunk_id for name, item in items.items()})


def bearer(services: Services, role: str, groups: tuple[str, ...] = ()) -> dict[str, str]:
    """The Authorization header of a new API key with this role and these groups."""
    secret, _ = services.keys.create(f"{role}-user", list(groups), role)
    return {"authorization": f"Bearer {secret}"}


def chat(question: str, **extra: object) -> dict[str, object]:
    """An OpenAI chat completion request body asking `question` as its one user message."""
    return {"model": "coffre", "messages": [{"role": "user", "content": question}], **extra}


def data_lines(text: str) -> list[str]:
    """The `data:` payloads of a server-sent event stream, in order (other lines skipped)."""
    return [line[len("data:"):].strip() for line in text.splitlines()
            if line.startswith("data:")]


def loop_calls(on_loop: list[str]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A wrapper for blocking methods that records in `on_loop` each one called on the event
    loop's thread (where a blocking call stalls every request)."""

    def off_loop(method: Callable[..., Any]) -> Callable[..., Any]:
        def checked(*args: Any, **kwargs: Any) -> Any:
            try:
                asyncio.get_running_loop()
                on_loop.append(method.__name__)
            except RuntimeError:
                pass  # a worker thread: no loop here
            return method(*args, **kwargs)
        return checked

    return off_loop
