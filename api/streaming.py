"""Blocking answer streams served to async clients, closed the moment the client goes away."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Iterator
from typing import Any, TypeVar

import anyio
from starlette.concurrency import run_in_threadpool

T = TypeVar("T")

_END = object()


def _close(events: Iterator[T]) -> None:
    close = getattr(events, "close", None)
    if close is not None:
        close()


async def off_the_loop(events: Iterator[T]) -> AsyncGenerator[T, None]:
    """Iterate `events` in worker threads, one item at a time, and close it however this ends.

    Starlette's `iterate_in_threadpool` never closes the iterator it is given: a streaming
    client that disconnects leaves the answer's generator suspended, and that generator
    holds the model until the garbage collector happens to run, blocking every later answer.
    Here a cancelled consumer (sse-starlette cancels on disconnect) waits for the token in
    progress, then closes the generator in a thread, off the event loop, which frees the
    model at once.
    """
    try:
        while True:
            item = await run_in_threadpool(next, events, _END)
            if item is _END:
                return
            yield item  # type: ignore[misc]
    finally:
        # Shielded: the consumer is being cancelled, yet the close must still run.
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(_close, events)


async def shielded(function: Callable[..., object], *args: Any) -> None:
    """Run a blocking call in a worker thread even while the caller is being cancelled
    (the audit record of an answer interrupted by a disconnect must still be written)."""
    with anyio.CancelScope(shield=True):
        await run_in_threadpool(function, *args)
