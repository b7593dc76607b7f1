"""Bounding the audit records of refused requests, so a flood cannot fill the disk.

Every 401, 403, 404 and 413 is on the record, but not each in full: per client address,
status and route, the first of a window (COFFRE_AUDIT_REFUSAL_WINDOW_S) gets a full record
and the others of that window are counted, then written as one summary when it ends. The
number of windows tracked at once is bounded too; past it, new clients share one window per
status and route (client "*"). Pure bookkeeping: no I/O, no clock of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_WINDOWS = 10_000
MAX_CREDENTIALS = 20  # fingerprints kept per summary: enough to see a key-guessing run
CROWD = "*"  # the client of the shared windows, once MAX_WINDOWS are tracked


@dataclass(frozen=True)
class RefusalKey:
    """What refusals are counted by."""

    client: str
    status: int
    route: str


@dataclass(frozen=True)
class Repeats:
    """The refusals of one window after its first: how many, when, which credentials."""

    key: RefusalKey
    count: int
    first_at: str
    last_at: str
    credentials: tuple[str, ...]


@dataclass
class _Window:
    started: float
    count: int = 0
    first_at: str = ""
    last_at: str = ""
    credentials: set[str] = field(default_factory=set)

    def repeats(self, key: RefusalKey) -> Repeats:
        return Repeats(key, self.count, self.first_at, self.last_at,
                       tuple(sorted(self.credentials)))


class RefusalLimiter:
    """Decides which refusals are recorded in full; counts the others (not thread-safe:
    its owner holds a lock)."""

    def __init__(self, window_s: float, max_windows: int = MAX_WINDOWS) -> None:
        self.window_s = window_s
        self.max_windows = max_windows
        # In the order the windows started, so the ended ones are always at the front.
        self._windows: dict[RefusalKey, _Window] = {}
        self._ended: list[Repeats] = []

    def admit(self, key: RefusalKey, now: float, at: str, credential: str | None) -> bool:
        """Whether this refusal (at monotonic `now`, wall time `at`) gets a full record;
        if not, it is counted in its window's summary."""
        self._close(key, now)
        if key not in self._windows and len(self._windows) >= self.max_windows:
            key = RefusalKey(CROWD, key.status, key.route)
            self._close(key, now)
        window = self._windows.get(key)
        if window is None:
            self._windows[key] = _Window(now)
            return True
        window.count += 1
        window.first_at = window.first_at or at
        window.last_at = at
        if credential is not None and len(window.credentials) < MAX_CREDENTIALS:
            window.credentials.add(credential)
        return False

    def _close(self, key: RefusalKey, now: float) -> None:
        window = self._windows.get(key)
        if window is not None and now - window.started >= self.window_s:
            del self._windows[key]
            if window.count:
                self._ended.append(window.repeats(key))

    @property
    def open(self) -> bool:
        """Whether a window is open, or a summary waits to be taken."""
        return bool(self._windows or self._ended)

    def ended(self, now: float) -> list[Repeats]:
        """The summaries of the windows over by `now` that counted refusals (taken)."""
        while self._windows:
            key, window = next(iter(self._windows.items()))
            if now - window.started < self.window_s:
                break
            self._close(key, now)
        taken, self._ended = self._ended, []
        return taken

    def flush(self) -> list[Repeats]:
        """Every pending summary, windows still open included (at shutdown)."""
        taken = self._ended + [w.repeats(k) for k, w in self._windows.items() if w.count]
        self._windows, self._ended = {}, []
        return taken
