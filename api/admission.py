"""Admission control: a bounded number of answers in progress, a bounded queue, and "busy,
retry in N s" past them, decided before an answer's response starts.

One llama.cpp context answers one question at a time (a pool of them, `capacity` at once).
Every answering channel (`/v1/ask`, `/v1/chat/completions`, Teams, the chat page) calls
`admit()` before its response starts: a slot at once, a place in the queue (up to `queue`
waiting), or `TooBusyError` (429 with `Retry-After`). The answer then runs inside
`async with ticket:`, which waits for a queued ticket's slot on the event loop, never in a
worker thread: a client that goes away while queued leaves the queue at once, and one that
waits past `wait_s` gets `QueueTimeoutError` (503 with `Retry-After`). A ticket dropped
unused (a response that never started) gives its place back when it is collected.
Searches never come here: they do not wait behind answers.

`Retry-After` is the measured mean service time of recent answers times the answers ahead,
spread over the slots (`ServiceTime`); before any answer it is the configured estimate.
A question whose expected wait (the queued answers ahead of it and its own turn, at that
mean, over the slots) would reach `wait_s` is refused the same way at once: told to come
back is better than a 200 stream that ends in a queue timeout two minutes later.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

from api.errors import QueueTimeoutError, TooBusyError


@dataclass(frozen=True)
class AdmissionConfig:
    """The bounds: answers in progress (0: the generator's capacity), answers waiting, how
    long one may wait, and the service time assumed before any was measured."""

    capacity: int = 0
    queue: int = 4
    wait_s: float = 120.0
    service_s: float = 30.0


class ServiceTime:
    """A moving mean of how long answers hold their slot (exponentially weighted)."""

    def __init__(self, initial_s: float, weight: float = 0.3) -> None:
        self.mean_s = initial_s
        self.weight = weight
        self.measured = 0

    def add(self, seconds: float) -> None:
        """Count one more answer's time; the first measured one replaces the estimate."""
        self.mean_s = seconds if not self.measured else (
            self.weight * seconds + (1 - self.weight) * self.mean_s)
        self.measured += 1


class Admission:
    """Slots for answers in progress and a queue before them (thread-safe)."""

    def __init__(
        self, config: AdmissionConfig, capacity: Callable[[], int],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self._capacity = capacity  # read at each admission, never at wiring: building a
        # lazily built model's generator needs its settings checked
        self.clock = clock
        self.service = ServiceTime(config.service_s)
        self._lock = threading.Lock()
        self._running = 0
        self._waiting: deque[asyncio.Future[None]] = deque()
        self.rejected = 0

    @property
    def slots(self) -> int:
        """Answers in progress at most: COFFRE_MAX_ANSWERS, else the generator's capacity
        now (a pool's grows and shrinks as its servers come and go)."""
        return max(1, self.config.capacity or self._capacity())

    @property
    def in_flight(self) -> int:
        """Answers in progress now."""
        return self._running

    @property
    def queued(self) -> int:
        """Answers waiting for a slot now."""
        return len(self._waiting)

    def retry_after(self) -> int:
        """Seconds until a slot is likely free for one more request: the answers ahead of
        it (in progress and queued) times the mean service time, over the slots."""
        ahead = self._running + len(self._waiting) + 1
        return max(1, math.ceil(self.service.mean_s * ahead / self.slots - 1e-9))

    def expected_wait_s(self) -> float:
        """How long one more queued question would likely wait for its slot: the queued
        answers ahead of it and the running ones' turn, at the mean service time, over the
        slots. A running answer counts whole (it may have just begun): a question is
        refused rather than admitted to a wait it would likely not survive."""
        return self.service.mean_s * (len(self._waiting) + 1) / self.slots

    def admit(self) -> Ticket:
        """A ticket for one answer: its slot now, its place in the queue, or TooBusyError."""
        slots = self.slots
        with self._lock:
            if self._running < slots and not self._waiting:
                self._running += 1
                return Ticket(self, None)
            full = len(self._waiting) >= self.config.queue
            expected_s = self.expected_wait_s()
            if full or expected_s >= self.config.wait_s:
                self.rejected += 1
                raise TooBusyError(self.retry_after(), self._running, len(self._waiting),
                                   would_wait_s=None if full else expected_s)
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiting.append(waiter)
            return Ticket(self, waiter)

    def _forfeit(self, waiter: asyncio.Future[None] | None) -> None:
        """A ticket given up before its answer ran: its slot or its place passes on."""
        if waiter is None or (self._leave_queue(waiter) is False and waiter.done() and \
                not waiter.cancelled()):
            self._pass_on()  # it held a slot (at once, or handed over to it)
        elif not waiter.done():
            waiter.cancel()  # handed over meanwhile: the hand-over, still to run, passes it on

    def _leave_queue(self, waiter: asyncio.Future[None]) -> bool:
        """Take a waiter out of the queue; False when it was already handed a slot."""
        with self._lock:
            if waiter in self._waiting:
                self._waiting.remove(waiter)
                return True
            return False

    def _release(self, held_s: float) -> None:
        """Give a slot back after an answer held it `held_s` seconds."""
        self.service.add(held_s)
        self._pass_on()

    def _pass_on(self) -> None:
        """A slot freed: to the first waiter still waiting, else back to the free ones."""
        with self._lock:
            while self._waiting:
                waiter = self._waiting.popleft()
                if not waiter.done():
                    # The slot passes on; the waiter's loop wakes it (this may be another).
                    waiter.get_loop().call_soon_threadsafe(_hand_over, waiter, self)
                    return
            self._running -= 1


def _hand_over(waiter: asyncio.Future[None], admission: Admission) -> None:
    """Wake a waiter with its slot; one cancelled meanwhile passes the slot on."""
    if waiter.done():
        admission._pass_on()
    else:
        waiter.set_result(None)


class Ticket:
    """One answer's admission: `async with` waits for its slot (at once when it has one),
    then holds it until the block ends, however it ends."""

    def __init__(self, admission: Admission, waiter: asyncio.Future[None] | None) -> None:
        self.admission = admission
        self._waiter = waiter
        self.queued = waiter is not None  # whether it had to wait
        self._held_since: float | None = None
        self.waited_s = 0.0
        # Dropped unused (a response that never started), it gives its place back.
        self._unused = weakref.finalize(self, admission._forfeit, waiter)

    async def __aenter__(self) -> Ticket:
        admission, waiter = self.admission, self._waiter
        began = admission.clock()
        if waiter is not None:
            try:
                await asyncio.wait_for(asyncio.shield(waiter), admission.config.wait_s)
            except TimeoutError:
                self._unused()  # its place given up
                raise QueueTimeoutError(admission.config.wait_s,
                                        admission.retry_after()) from None
            except asyncio.CancelledError:
                self._unused()  # the client went away while queued
                raise
        self._unused.detach()
        self._held_since = admission.clock()
        self.waited_s = self._held_since - began
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._held_since is not None:
            held, self._held_since = self.admission.clock() - self._held_since, None
            self.admission._release(held)
