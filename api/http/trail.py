"""Refused requests on the audit trail: every 401, 403, 404 and 413, whoever produced it.

A pure-ASGI middleware, the outermost one, sees each response's status as it starts, so it
also sees refusals written before routing (an unknown path, a body over the limit, a missing
key turned away early) and by the other middleware. It never reads or holds a body. On the
event loop it only notes the refusal (api.refusals bounds how many get a full record) and
puts it on a bounded queue; one thread drains the queue into the trail, since SQLite writes
block. A credential is never written: the record holds a keyed fingerprint of it and, when it
was valid, whose it was.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from starlette.routing import Match, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auditing import AuditEntry, Denial, append, denied_record, denied_repeats_record
from api.auth import Authenticator
from api.metrics import route_template
from api.refusals import RefusalKey, RefusalLimiter, Repeats
from indexes.audit import AuditLog
from indexes.errors import CoffreError

RECORDED = frozenset({401, 403, 404, 413})
QUEUE_SIZE = 1000  # full records waiting for the writer; past it they are counted as dropped
PATH_CHARS = 200  # of the path asked, in a record
log = logging.getLogger("coffre.audit")


@dataclass(frozen=True)
class _Job:
    denial: Denial
    authorization: str | None  # only to tell whose it was, in the writer thread; never stored
    at: str


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _credential(authorization: str | None) -> str | None:
    if authorization is None:
        return None
    scheme, _, rest = authorization.partition(" ")
    return rest.strip() or None if scheme.lower() == "bearer" else authorization.strip() or None


class RefusalRecorder:
    """Takes refusals on the event loop without blocking; writes them from its own thread."""

    def __init__(self, audit: AuditLog, authenticator: Authenticator, window_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.audit = audit
        self.authenticator = authenticator
        self.clock = clock
        self._limiter = RefusalLimiter(window_s)
        self._lock = threading.Lock()  # held for bookkeeping only, never across a write
        self._queue: queue.Queue[_Job | None] = queue.Queue(QUEUE_SIZE)
        self._thread: threading.Thread | None = None
        self._dropped = 0

    def refused(self, scope: Scope, status: int, route: str) -> None:
        """Note one refused request to `route` (a template; on the event loop: memory and
        a queue only)."""
        client = scope.get("client")
        address = str(client[0]) if client else "unknown"
        authorization = _header(scope, b"authorization")
        presented = _credential(authorization)
        fingerprint = self.audit.fingerprint(presented) if presented else None
        at = datetime.now(UTC).isoformat(timespec="microseconds")
        denial = Denial(status, str(scope.get("method", "")), route,
                        str(scope.get("path", ""))[:PATH_CHARS], address, None, fingerprint)
        with self._lock:
            full = self._limiter.admit(RefusalKey(address, status, route), self.clock(), at,
                                       fingerprint)
            self._start()  # also for a counted one: its window's summary is written later
            if not full:
                return
            try:
                self._queue.put_nowait(_Job(denial, authorization, at))
            except queue.Full:
                self._dropped += 1

    def _start(self) -> None:
        """Start the writer thread unless it runs (under the lock)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._drain, name="coffre-refusals",
                                            daemon=True)
            self._thread.start()

    def _idle(self) -> bool:
        """Whether the writer may stop: nothing queued, no window open (it then forgets
        itself, under the lock, so the next refusal starts a new one)."""
        with self._lock:
            if self._queue.empty() and not self._limiter.open:
                self._thread = None
                return True
            return False

    def _drain(self) -> None:
        """The writer thread: full records as they come, summaries as windows end; it
        stops once idle (and at close, after writing every summary)."""
        while True:
            try:
                job = self._queue.get(timeout=min(self._limiter.window_s, 1.0))
            except queue.Empty:
                self._write_ended(final=False)
                if self._idle():
                    return
                continue
            try:
                if job is not None:
                    self._write_full(job)
                self._write_ended(final=job is None)
            finally:
                self._queue.task_done()
            if job is None and self._idle():
                return

    def _whose(self, job: _Job) -> str | None:
        if job.denial.status == 401 or job.authorization is None:
            return None  # refused for its credential: nobody's
        try:
            return self.authenticator.identify(job.authorization).user
        except CoffreError:
            return None

    def _write_full(self, job: _Job) -> None:
        entry = denied_record(replace(job.denial, user=self._whose(job)), job.at)
        self._append(entry)

    def _write_ended(self, final: bool) -> None:
        """The summaries of the windows that ended (`final`: of every window)."""
        with self._lock:
            ended = self._limiter.flush() if final else self._limiter.ended(self.clock())
            dropped, self._dropped = self._dropped, 0
        if dropped:
            now = datetime.now(UTC).isoformat(timespec="microseconds")
            ended = [*ended, Repeats(RefusalKey("*", 0, "*"), dropped, now, now, ())]
        for repeats in ended:
            key = repeats.key
            self._append(denied_repeats_record(key.client, key.status, key.route,
                                               repeats.count, repeats.first_at,
                                               repeats.last_at, repeats.credentials))

    def _append(self, entry: AuditEntry) -> None:
        try:
            append(self.audit, entry)
        except CoffreError as exc:  # nobody to answer here: the operator's log says it
            log.error("a refused request could not be audited: %s", exc)

    def flush(self) -> None:
        """Wait until every refusal taken so far is written (its full record, if any)."""
        if self._thread is not None and self._thread.is_alive():
            self._queue.join()

    def close(self) -> None:
        """Write what is queued and every pending summary; stop the thread (blocking)."""
        with self._lock:
            thread = self._thread
        if thread is None:
            self._write_ended(final=True)
            return
        self._queue.put(None)
        thread.join(timeout=30)


class RefusalTrail:
    """Puts every 401, 403, 404 and 413 on the audit trail (pure ASGI: nothing buffered)."""

    def __init__(self, app: ASGIApp, recorder: RefusalRecorder, router: Router) -> None:
        self.app = app
        self.recorder = recorder
        self.router = router  # to name the route of a refusal written before routing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request; note a refusal as its response starts."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] in RECORDED:
                try:
                    self.recorder.refused(scope, int(message["status"]), self._route(scope))
                except Exception:  # the response goes out whatever became of its record
                    log.exception("a refused request could not be noted for the audit trail")
            await send(message)

        await self.app(scope, receive, sending)

    def _route(self, scope: Scope) -> str:
        """The route template: the router's, else the route the path would have reached
        (a refusal written before routing), else "unmatched"."""
        if scope.get("route") is None:
            for route in self.router.routes:
                path = getattr(route, "path", None)
                if isinstance(path, str) and route.matches(scope)[0] is Match.FULL:
                    return path
        return route_template(scope)
