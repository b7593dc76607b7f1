"""Opening a SQLite file that other processes may be opening at the same moment.

Two ingestion jobs (or a job and the server) can open one data directory together. SQLite's
busy timeout covers ordinary reads and writes, but changing the journal mode and the first
open of a WAL file can answer "database is locked" at once, without waiting. So the journal
mode is read first (free), set only when needed, and retried for as long as the busy
timeout would have waited.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

BUSY_TIMEOUT_MS = 30_000
_RETRY_PAUSE_S = 0.05


def connect(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode, usable from any thread, that waits out writers."""
    db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return db


def _locked(exc: sqlite3.OperationalError) -> bool:
    message = str(exc).lower()
    return "locked" in message or "busy" in message


def prepare(db: sqlite3.Connection, schema: str) -> None:
    """Put `db` in WAL mode and create `schema`, waiting while another process does so."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            mode = db.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal":
                db.execute("PRAGMA journal_mode=WAL")
            db.executescript(schema)
            return
        except sqlite3.OperationalError as exc:
            if not _locked(exc) or time.monotonic() > deadline:
                raise
            time.sleep(_RETRY_PAUSE_S)


@contextmanager
def write_transaction(
    db: sqlite3.Connection, lock: threading.RLock | None = None
) -> Iterator[sqlite3.Connection]:
    """One write transaction on `db` (an autocommit connection from `connect`), under `lock`
    when the connection is shared by threads: BEGIN IMMEDIATE takes the write lock at once,
    and any error rolls everything back."""
    with lock or nullcontext():
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
