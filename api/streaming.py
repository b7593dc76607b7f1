"""Blocking answer streams served to async clients, closed the moment the client goes away."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import AsyncGenerator, Callable, Iterator
from typing import Any, Generic, TypeVar

import anyio
from starlette.concurrency import run_in_threadpool

T = TypeVar("T")


def _close(events: Iterator[T]) -> None:
    close = getattr(events, "close", None)
    if close is not None:
        close()


class _Producer(Generic[T]):
    """One thread that runs the blocking stream to its end and hands each item to the
    event loop, stopping (and closing the stream, in this thread) once told to."""

    _END = object()

    def __init__(self, events: Iterator[T], loop: asyncio.AbstractEventLoop) -> None:
        self.events, self.loop = events, loop
        self.items: asyncio.Queue[tuple[object, BaseException | None]] = asyncio.Queue()
        self.stop = threading.Event()
        run = contextvars.copy_context().run  # the request's context, as a threadpool keeps
        self.thread = threading.Thread(target=run, args=(self._produce,), daemon=True,
                                       name="answer-stream")

    def _hand(self, item: object, error: BaseException | None = None) -> None:
        try:
            self.loop.call_soon_threadsafe(self.items.put_nowait, (item, error))
        except RuntimeError:  # the loop has closed: nobody is left to read
            self.stop.set()

    def _produce(self) -> None:
        try:
            for item in self.events:
                self._hand(item)
                if self.stop.is_set():
                    return
            self._hand(self._END)
        except BaseException as exc:  # re-raised in the consumer, where the route handles it
            self._hand(self._END, exc)
        finally:
            _close(self.events)

    async def __aiter__(self) -> AsyncGenerator[T, None]:
        while True:
            item, error = await self.items.get()
            if error is not None:
                raise error
            if item is self._END:
                return
            yield item  # type: ignore[misc]


async def off_the_loop(events: Iterator[T]) -> AsyncGenerator[T, None]:
    """Run `events` in a thread of its own, yielding its items here, and close it however
    this ends.

    The thread does not wait for the consumer between items: a pull per item (a worker
    thread asked for each token) made every token wait for the event loop, and under load
    decoding ran at half its bare speed. Starlette's `iterate_in_threadpool` also never
    closes the iterator it is given, so a client that disconnected left the answer's
    generator holding the model until the garbage collector ran. Here a cancelled consumer
    (sse-starlette cancels on disconnect) tells the thread to stop: it closes the generator
    after the token in progress, which frees the model at once.
    """
    producer = _Producer(events, asyncio.get_running_loop())
    producer.thread.start()
    try:
        async for item in producer:
            yield item
    finally:
        producer.stop.set()
        # Shielded: the consumer is being cancelled, yet the close must be waited for.
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(producer.thread.join)


async def shielded(function: Callable[..., object], *args: Any) -> None:
    """Run a blocking call in a worker thread even while the caller is being cancelled
    (the audit record of an answer interrupted by a disconnect must still be written)."""
    with anyio.CancelScope(shield=True):
        await run_in_threadpool(function, *args)
