"""The audit trail: an append-only, keyed hash chain of every ask, search, read and refusal.

Each record carries the HMAC-SHA256, under a key kept outside the data folder, of its
position, content and its predecessor's digest, so nobody holding only the SQLite file can
edit, delete or reorder a record and recompute what follows. Its head is exported at
intervals to an anchor file outside the data folder (indexes.audit_anchor), so cutting
records off the end, wiping the trail or restoring an older copy is seen too. Retention
deletes only records older than the retention period and says so in a keyed prune record;
deleting records any other way is a breach. Records written before the trail had a key
(legacy, plain SHA-256) are sealed by the first keyed record, a key_start record naming them.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from indexes.audit_anchor import (
    Anchor,
    AnchorLog,
    AnchorReading,
    anchor_file_has_lines,
    read_anchors,
)
from indexes.audit_chain import GENESIS, StoredRow, dump_body, record_hash
from indexes.audit_key import AuditKey, create_key, load_key
from indexes.audit_verify import Verification, check_key, verify_rows
from indexes.audit_writes import (
    COLUMNS,
    SCHEMA,
    ensure_keyed,
    last_row,
    prune_rows,
    read_meta,
    row_of,
    write_row,
)
from indexes.errors import AuditError
from indexes.sqlite_open import connect, prepare

__all__ = ["GENESIS", "AuditLog", "AuditRecord", "AuditSeal", "record_hash"]

@dataclass(frozen=True)
class AuditRecord:
    """One stored record: sequence number, time, user, content, and its chain digests."""

    seq: int
    at: str
    user: str
    body: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class AuditSeal:
    """Where the trail's key and anchors live (both outside the data folder), how often
    the head is anchored (every Nth record; the first keyed record and prune records
    always), and the syslog address anchors are also sent to (empty: none)."""

    key_file: Path
    anchor_file: Path
    anchor_every: int = 1
    syslog: str = ""


def _key_file_absent(path: Path) -> bool:
    try:
        path.stat()
    except FileNotFoundError:
        return True
    except OSError:
        return False  # there but unreadable: load_key says so
    return False


class AuditLog:
    """Append-only SQLite log, keyed and anchored; one writer at a time. Opened without a
    seal it can be read and searched, not written."""

    def __init__(self, path: Path, seal: AuditSeal | None = None, *,
                 create_key: bool = True) -> None:
        """Open the trail; with `seal`, its key too (created when absent and the trail was
        never keyed, if `create_key`). AuditKeyError when the key is not the trail's."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.seal = seal
        self._lock = threading.Lock()
        self._db = connect(path)
        self._key: AuditKey | None = None
        self._anchors = AnchorLog(seal.anchor_file, seal.syslog) if seal else None
        # The last record written here and not anchored yet, with where keying started.
        self._unanchored: tuple[StoredRow, int] | None = None
        try:
            prepare(self._db, SCHEMA)
            if seal is not None:
                self._key = self._open_key(seal, create_key)
        except BaseException:
            self._db.close()
            raise

    def _open_key(self, seal: AuditSeal, create: bool) -> AuditKey | None:
        meta = read_meta(self._db)
        keyed_before = "key_id" in meta or anchor_file_has_lines(seal.anchor_file)
        if _key_file_absent(seal.key_file):
            if create and not keyed_before:
                return create_key(seal.key_file)
            # Keyed before: AuditKeyError naming the key to restore. Never keyed: verifying
            # needs no key, and none is made for it.
            check_key(meta, None, None, seal.key_file, seal.anchor_file)
            return None
        key = load_key(seal.key_file)
        check_key(meta, None if create else read_anchors(seal.anchor_file, key), key,
                  seal.key_file, seal.anchor_file)
        return key

    def close(self) -> None:
        """Anchor the head if this process wrote records it has not anchored; close."""
        try:
            self.anchor_head()
        finally:
            if self._anchors is not None:
                self._anchors.close()
            with self._lock:
                self._db.close()

    def _writing_key(self) -> AuditKey:
        if self._key is None:
            raise AuditError(f"the audit trail {self.path} is open without its key "
                             f"(COFFRE_AUDIT_KEY_FILE): it can be read, not written")
        return self._key

    @property
    def key_id(self) -> str | None:
        """The public name of the trail's key (None: opened without one)."""
        return self._key.key_id if self._key else None

    def fingerprint(self, credential: str) -> str:
        """A short, non-reversible name of a presented credential (keyed: see AuditKey)."""
        return self._writing_key().fingerprint(credential)

    def _transaction(self, work: Any, anchor_all: bool = False) -> list[StoredRow]:
        """Run `work()` (returning the rows it wrote) in one write transaction, then anchor
        what is due; AuditError when SQLite refuses or the anchor cannot be written. One
        thread at a time uses the connection (Python's sqlite3 objects are not shared
        safely), so every read and write of it holds the lock."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                written: list[StoredRow] = work()
                keyed_from = read_meta(self._db).get("keyed_from")
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise AuditError(f"no answer without an audit record: cannot write it to "
                                 f"{self.path}: {exc}") from exc
            if written and keyed_from is not None:
                self._anchor_due(written, int(keyed_from), anchor_all)
        return written

    def append(self, user: str, body: dict[str, Any], at: datetime | None = None) -> AuditRecord:
        """Write one record; raises AuditError when it cannot be stored or anchored."""
        key = self._writing_key()
        moment = (at or datetime.now(UTC)).isoformat(timespec="microseconds")
        body_json = dump_body(body)

        def work() -> list[StoredRow]:
            last, written = ensure_keyed(self._db, key, last_row(self._db), moment)
            return [*written, write_row(self._db, key, last, moment, user, body_json)]

        row = self._transaction(work)[-1]
        return AuditRecord(row.seq, moment, user, body, row.prev_hash, row.hash)

    def _anchor_due(self, rows: list[StoredRow], keyed_from: int, anchor_all: bool) -> None:
        """Anchor the rows just written that are due; remember the last one if it is not."""
        assert self.seal is not None
        for row in rows:
            if anchor_all or row.seq == keyed_from or row.seq % self.seal.anchor_every == 0:
                self._export(row, keyed_from)
            else:
                self._unanchored = (row, keyed_from)

    def _export(self, row: StoredRow, keyed_from: int) -> None:
        assert self._anchors is not None and self._key is not None
        moment = datetime.now(UTC).isoformat(timespec="seconds")
        anchor = Anchor(row.seq, row.hash, keyed_from, self._key.key_id, moment)
        try:
            self._anchors.write(anchor, self._key)
        except AuditError as exc:
            raise AuditError(f"audit record {row.seq} is stored but not anchored: {exc}") from exc
        self._unanchored = None

    def anchor_head(self) -> None:
        """Anchor the last record this process wrote, if it is not anchored yet (at close,
        at server shutdown)."""
        with self._lock:
            if self._unanchored is not None:
                self._export(*self._unanchored)

    def records(self) -> Iterator[AuditRecord]:
        """Every record, in sequence order."""
        for row in self._rows():
            yield AuditRecord(row.seq, row.at, row.user, json.loads(row.body_json),
                              row.prev_hash, row.hash)

    def _rows(self) -> list[StoredRow]:
        with self._lock:
            return [row_of(r) for r in self._db.execute(
                f"SELECT {COLUMNS} FROM audit ORDER BY seq").fetchall()]

    def check(self) -> Verification:
        """Verify the keyed chain, its start, its head and every anchor (see audit_verify);
        AuditKeyError when the trail was written with another key or its key is missing."""
        rows = self._rows()
        with self._lock:
            meta = read_meta(self._db)
        key_file = self.seal.key_file if self.seal else Path("COFFRE_AUDIT_KEY_FILE")
        anchor_file = self.seal.anchor_file if self.seal else Path("COFFRE_AUDIT_ANCHOR_FILE")
        reading = read_anchors(anchor_file, self._key) if self._key else None
        check_key(meta, reading, self._key, key_file, anchor_file)
        return verify_rows(rows, meta, reading or _NO_ANCHORS, self._key, anchor_file)

    def verify(self) -> int | None:
        """Sequence number of the first record concerned by a breach, or None if intact."""
        return self.check().first_bad

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
        """Delete the records older than `keep_days` (the oldest ones, up to the first that
        is not), and say so in a keyed prune record. Returns how many were deleted."""
        key = self._writing_key()
        moment = (now or datetime.now(UTC)).isoformat(timespec="microseconds")
        cutoff = ((now or datetime.now(UTC)) - timedelta(days=keep_days)).isoformat(
            timespec="microseconds")
        pruned: list[int] = []

        def work() -> list[StoredRow]:
            count, written = prune_rows(self._db, key, cutoff, keep_days, moment)
            pruned.append(count)
            return written

        self._transaction(work, anchor_all=True)
        return pruned[0] if pruned else 0


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


_NO_ANCHORS = AnchorReading((), (), frozenset())
