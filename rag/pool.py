"""Several generators behind one: generation endpoints, or copies of the in-process model.

Each request goes to the member with the fewest requests in flight for its capacity, waiting
(up to `wait_s`) while all are full. A member failing before its first token (`EndpointError`)
is skipped and the next one tried; once text has come, a failure ends the answer with
`AnswerCutShortError`: text already shown cannot be replayed. An unreachable member is taken
out; the health check (a daemon thread from first use until `close()`) probes those out or
idle every `health_s` and puts back those that answer. A busy member is not probed: its
stream shows it is alive, and a probe could wait behind its answer (llama_cpp.server serves
one at a time). A `PoolStream`'s `served_by` names its member; a paused answer goes on, when
it can, on the member that wrote its start (its kept context or prompt cache serves it).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from collections.abc import Generator as Pieces

from rag.errors import (
    AnswerCutShortError,
    EndpointDownError,
    EndpointError,
    ModelBusyError,
    NoEndpointError,
)
from rag.generation import GenerationConfig, Generator, Purpose
from rag.pool_members import Member, MemberState, MemberStatus, PoolStream, Where, reply_key

_RESUMABLE = 64  # paused answers whose member is remembered


class GeneratorPool:
    """Members behind one Generator: least loaded first, failed ones skipped (thread-safe)."""

    def __init__(
        self, members: Sequence[Member], *, wait_s: float = 300.0, health_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not members:
            raise ValueError("a pool needs at least one member")
        self.members = tuple(members)
        self.wait_s = wait_s
        self.health_s = health_s
        self.clock = clock
        self._states = [MemberState() for _ in self.members]
        self._changed = threading.Condition()  # guards the states; notified when one changes
        self._resume: OrderedDict[str, int] = OrderedDict()  # paused answer -> its member
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    @property
    def model_id(self) -> str:
        """The model of a member in service (they all run the same one)."""
        return self.members[next(iter(self._by_load()), 0)].generator.model_id

    @property
    def context_size(self) -> int:
        """The smallest member's context: a prompt must fit wherever it goes."""
        return min(m.generator.context_size for m in self.members)

    @property
    def capacity(self) -> int:
        """Answers at once: the capacities of the members in service (at least 1)."""
        self._watch_health()
        with self._changed:
            return max(1, sum(m.capacity for m, s in zip(self.members, self._states, strict=True)
                              if s.up))

    @property
    def sha256(self) -> str | None:
        """The model file's SHA-256, when the members run a local file (workers)."""
        return getattr(self.members[0].generator, "sha256", None)

    def load(self) -> None:
        """Load every member that can be loaded ahead of use (each worker's model)."""
        for member in self.members:
            load = getattr(member.generator, "load", None)
            if load is not None:
                load()

    def count_tokens(self, text: str) -> int:
        """Tokens of `text`, counted by the first member in service that can."""
        self._watch_health()
        failures: list[str] = []
        for index in self._by_load():
            member = self.members[index]
            try:
                return member.generator.count_tokens(text)
            except EndpointDownError as exc:
                self._mark(index, exc.reason)
                failures.append(f"{member.name}: {exc.reason}")
        raise NoEndpointError(failures + self._down(set()), self.retry_after_s)

    def stream(self, messages: list[dict[str, str]], config: GenerationConfig) -> PoolStream:
        """The reply from the least loaded member; see the module docstring for failures."""
        where = Where()
        return PoolStream(self._serve(where, messages, config), where)

    @property
    def retry_after_s(self) -> int:
        """When to ask again with every member out: at the next health check."""
        return max(1, math.ceil(self.health_s))

    def status(self) -> tuple[MemberStatus, ...]:
        """Each member's state now (for health reports and tests)."""
        with self._changed:
            return tuple(MemberStatus(m.name, s.up, s.in_flight, s.failure)
                         for m, s in zip(self.members, self._states, strict=True))

    def is_up(self, name: str) -> bool:
        """Whether the member of this name is in service."""
        return next(s.up for s in self.status() if s.name == name)

    def check_health(self) -> None:
        """Probe each member that is out or idle; put back those that answer, take out those
        that do not (a failed probe of a member that took a request meanwhile is ignored)."""
        for index, member in enumerate(self.members):
            state = self._states[index]
            with self._changed:
                if member.probe is None or (state.up and state.in_flight):
                    continue
            try:
                member.probe()
                failure = None
            except EndpointError as exc:
                failure = exc.reason
            except Exception as exc:  # a probe's own fault must not stop the health check
                failure = f"health check failed: {exc}"
            with self._changed:
                if failure is None:
                    state.up, state.failure = True, None
                elif not state.in_flight:
                    state.up, state.failure = False, failure
                self._changed.notify_all()

    def close(self) -> None:
        """Stop the health check and close the members (their HTTP connections)."""
        self._stop.set()
        watcher = self._watcher
        if watcher is not None:
            watcher.join(timeout=30)
        for member in self.members:
            close = getattr(member.generator, "close", None)
            if close is not None:
                close()

    # Serving a request --------------------------------------------------------------------

    def _serve(
        self, where: Where, messages: list[dict[str, str]], config: GenerationConfig
    ) -> Pieces[str, None, None]:
        """Open the stream on a member, then pass its pieces on; give the member back."""
        index, pieces, first = self._open(messages, config)
        member, text, ended = self.members[index], [], False
        where.name = member.name
        try:
            if first is not None:
                text.append(first)
                yield first
                for piece in pieces:
                    text.append(piece)
                    yield piece
            ended = True
        except EndpointDownError as exc:
            self._mark(index, exc.reason)
            raise AnswerCutShortError(member.name, f"it failed once the answer had begun: "
                                      f"{exc.reason}") from exc
        finally:
            _close(pieces)
            if not ended and text and config.purpose is Purpose.ANSWER:
                self._remember(reply_key(messages, "".join(text)), index)
            self._release(index)

    def _open(
        self, messages: list[dict[str, str]], config: GenerationConfig
    ) -> tuple[int, Iterator[str], str | None]:
        """A member's stream and its first piece (None: an empty reply), trying the next
        member while one fails before its first token."""
        failures: list[str] = []
        tried: set[int] = set()
        prefer = self._resumed_on(messages)
        while True:
            index = self._acquire(tried, failures, prefer)
            tried.add(index)
            pieces = iter(self.members[index].generator.stream(messages, config))
            try:
                return index, pieces, next(pieces, None)
            except EndpointError as exc:  # nothing came yet: safe to ask another member
                _close(pieces)
                if isinstance(exc, EndpointDownError):
                    self._mark(index, exc.reason)
                self._release(index)
                failures.append(f"{self.members[index].name}: {exc.reason}")
            except BaseException:
                _close(pieces)
                self._release(index)
                raise

    def _acquire(self, tried: set[int], failures: list[str], prefer: int | None) -> int:
        """Take a slot on the least loaded member in service not tried yet, waiting while
        all are full; NoEndpointError when none is left, ModelBusyError past `wait_s`."""
        self._watch_health()
        deadline = self.clock() + self.wait_s
        with self._changed:
            while True:
                candidates = [i for i, s in enumerate(self._states) if s.up and i not in tried]
                if not candidates:
                    raise NoEndpointError(failures + self._down(tried), self.retry_after_s)
                free = [i for i in candidates
                        if self._states[i].in_flight < self.members[i].capacity]
                if free:
                    pick = prefer if prefer in free else min(free, key=self._load)
                    self._states[pick].in_flight += 1
                    self._states[pick].served += 1
                    return pick
                left = deadline - self.clock()
                if left <= 0:
                    raise ModelBusyError(self.wait_s)
                self._changed.wait(left)

    def _load(self, index: int) -> tuple[float, int, int]:
        state = self._states[index]
        return state.in_flight / self.members[index].capacity, state.served, index

    def _release(self, index: int) -> None:
        with self._changed:
            self._states[index].in_flight -= 1
            self._changed.notify_all()

    def _mark(self, index: int, failure: str) -> None:
        """Take a member out until a health check finds it well."""
        with self._changed:
            self._states[index].up, self._states[index].failure = False, failure
            self._changed.notify_all()

    def _down(self, tried: set[int]) -> list[str]:
        """Why each member out of service, not tried by this request, is out."""
        return [f"{m.name}: out of service ({s.failure})"
                for i, (m, s) in enumerate(zip(self.members, self._states, strict=True))
                if not s.up and i not in tried]

    def _by_load(self) -> list[int]:
        """The members in service, least loaded first."""
        with self._changed:
            return sorted((i for i, s in enumerate(self._states) if s.up), key=self._load)

    # Paused answers -----------------------------------------------------------------------

    def _remember(self, key: str, index: int) -> None:
        with self._changed:
            self._resume[key] = index
            if len(self._resume) > _RESUMABLE:
                self._resume.popitem(last=False)

    def _resumed_on(self, messages: list[dict[str, str]]) -> int | None:
        """The member that wrote the start of the reply this request continues, if known."""
        if not messages or messages[-1]["role"] != "assistant":
            return None
        with self._changed:
            return self._resume.pop(reply_key(messages[:-1], messages[-1]["content"]), None)

    # Health -------------------------------------------------------------------------------

    def _watch_health(self) -> None:
        """Start the health check on first use, when some member has a probe."""
        if self._watcher is not None or self.health_s <= 0 or self._stop.is_set() or \
                all(m.probe is None for m in self.members):
            return
        with self._changed:
            if self._watcher is None:
                self._watcher = threading.Thread(target=self._watch, daemon=True,
                                                 name="coffre-generation-health")
                self._watcher.start()

    def _watch(self) -> None:
        # Members start in service: the first check comes one interval after first use.
        while not self._stop.wait(self.health_s):
            self.check_health()


def _close(pieces: Iterator[str]) -> None:
    close = getattr(pieces, "close", None)
    if close is not None:
        close()


def worker_pool(generators: Sequence[Generator], *, wait_s: float) -> GeneratorPool:
    """In-process copies of one model (COFFRE_WORKERS), named local:0, local:1, ..."""
    return GeneratorPool([Member(f"local:{i}", g) for i, g in enumerate(generators)],
                         wait_s=wait_s, health_s=0)
