"""The audit trail: an append-only, hash-chained record of every ask and search.

Each record holds the SHA-256 of the one before it, and its own hash covers its content and
that link, so editing, deleting or reordering any record breaks the chain at that record.
Retention deletes the oldest records but keeps the hash of the last deleted one as the
chain's anchor, so pruning is visible and verification still runs over what remains.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from indexes.errors import AuditError
from indexes.sqlite_open import connect, prepare

GENESIS = "0" * 64

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    user TEXT NOT NULL,
    body TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class AuditRecord:
    """One stored record: sequence number, time, user, content, and its chain hashes."""

    seq: int
    at: str
    user: str
    body: dict[str, Any]
    prev_hash: str
    hash: str


def record_hash(seq: int, at: str, user: str, body_json: str, prev_hash: str) -> str:
    """The hash a record must carry: over its position, content and predecessor."""
    payload = "\x1f".join([str(seq), at, user, body_json, prev_hash])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class AuditLog:
    """Append-only SQLite log, hash-chained; one writer at a time."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = connect(path)
        prepare(self._db, _SCHEMA)

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def _anchor(self) -> str:
        row = self._db.execute("SELECT value FROM audit_meta WHERE key = 'anchor'").fetchone()
        return str(row[0]) if row else GENESIS

    def append(self, user: str, body: dict[str, Any], at: datetime | None = None) -> AuditRecord:
        """Write one record; raises AuditError when it cannot be stored."""
        moment = (at or datetime.now(UTC)).isoformat(timespec="microseconds")
        body_json = json.dumps(body, sort_keys=True, ensure_ascii=False, default=str)
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                last = self._db.execute(
                    "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1"
                ).fetchone()
                seq, prev = (int(last[0]) + 1, str(last[1])) if last else (1, self._anchor())
                digest = record_hash(seq, moment, user, body_json, prev)
                self._db.execute(
                    "INSERT INTO audit(seq, at, user, body, prev_hash, hash) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (seq, moment, user, body_json, prev, digest),
                )
                # The head lets verify() notice records cut off the end of the chain.
                self._db.execute(
                    "INSERT OR REPLACE INTO audit_meta(key, value) VALUES ('head', ?)",
                    (f"{seq}:{digest}",),
                )
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise AuditError(f"no answer without an audit record: cannot write it to "
                                 f"{self.path}: {exc}") from exc
        return AuditRecord(seq, moment, user, body, prev, digest)

    def records(self) -> Iterator[AuditRecord]:
        """Every record, in sequence order."""
        rows = self._db.execute(
            "SELECT seq, at, user, body, prev_hash, hash FROM audit ORDER BY seq"
        ).fetchall()
        for seq, at, user, body, prev, digest in rows:
            yield AuditRecord(
                int(seq), str(at), str(user), json.loads(body), str(prev), str(digest)
            )

    def verify(self) -> int | None:
        """Sequence number of the first record that breaks the chain, or None if intact."""
        expected_prev = self._anchor()
        expected_seq: int | None = None
        rows = self._db.execute(
            "SELECT seq, at, user, body, prev_hash, hash FROM audit ORDER BY seq"
        ).fetchall()
        for seq, at, user, body, prev, digest in rows:
            if expected_seq is not None and seq != expected_seq:
                return int(seq)  # a record was deleted before this one
            if prev != expected_prev or record_hash(seq, at, user, body, prev) != digest:
                return int(seq)
            expected_prev, expected_seq = digest, int(seq) + 1
        head = self._db.execute("SELECT value FROM audit_meta WHERE key = 'head'").fetchone()
        if head is not None:
            head_seq, head_hash = str(head[0]).split(":", 1)
            if expected_prev != head_hash:
                return (expected_seq or 1) if rows else int(head_seq)
        return None

    def search(
        self,
        user: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        text: str | None = None,
        document: str | None = None,
        limit: int = 100,
    ) -> list[AuditRecord]:
        """Records matching every given criterion, newest first."""
        out = []
        for record in reversed(list(self.records())):
            moment = datetime.fromisoformat(record.at)
            if user is not None and record.user != user:
                continue
            if since is not None and moment < _aware(since):
                continue
            if until is not None and moment > _aware(until):
                continue
            blob = json.dumps(record.body, ensure_ascii=False).lower()
            if text is not None and text.lower() not in blob:
                continue
            if document is not None and document.lower() not in blob:
                continue
            out.append(record)
            if len(out) >= limit:
                break
        return out

    def prune(self, keep_days: int, now: datetime | None = None) -> int:
        """Delete records older than `keep_days`; the chain stays verifiable. Returns count."""
        cutoff = ((now or datetime.now(UTC)) - timedelta(days=keep_days)).isoformat(
            timespec="microseconds")
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            old = self._db.execute(
                "SELECT seq, hash FROM audit WHERE at < ? ORDER BY seq", (cutoff,)
            ).fetchall()
            if old:
                self._db.execute("DELETE FROM audit WHERE seq <= ?", (old[-1][0],))
                self._db.execute(
                    "INSERT OR REPLACE INTO audit_meta(key, value) VALUES ('anchor', ?)",
                    (old[-1][1],),
                )
            self._db.execute("COMMIT")
        return len(old)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
