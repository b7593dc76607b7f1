"""The audit trail's write statements, each run inside the caller's write transaction:
a keyed record, the keying of a legacy trail, and a retention prune."""

from __future__ import annotations

import sqlite3
from typing import Any

from indexes.audit_chain import GENESIS, SYSTEM_USER, StoredRow, SystemKind, dump_body, record_mac
from indexes.audit_key import AuditKey

SCHEMA = """
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
COLUMNS = "seq, at, user, body, prev_hash, hash"


def row_of(values: tuple[Any, ...]) -> StoredRow:
    """A stored row from its columns (in COLUMNS order)."""
    seq, at, user, body, prev, digest = values
    return StoredRow(int(seq), str(at), str(user), str(body), str(prev), str(digest))


def read_meta(db: sqlite3.Connection) -> dict[str, str]:
    """The trail's metadata: head, keyed_from, key_id, and a legacy prune's anchor."""
    return {str(k): str(v) for k, v in db.execute("SELECT key, value FROM audit_meta")}


def _set_meta(db: sqlite3.Connection, key: str, value: str) -> None:
    db.execute("INSERT OR REPLACE INTO audit_meta(key, value) VALUES (?, ?)", (key, value))


def last_row(db: sqlite3.Connection) -> StoredRow | None:
    """The last record, if any."""
    found = db.execute(f"SELECT {COLUMNS} FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    return row_of(found) if found else None


def write_row(db: sqlite3.Connection, key: AuditKey, last: StoredRow | None, moment: str,
              user: str, body_json: str) -> StoredRow:
    """Insert a keyed record after `last` and move the head."""
    seq, prev = (last.seq + 1, last.hash) if last else (1, GENESIS)
    digest = record_mac(key, seq, moment, user, body_json, prev)
    db.execute(f"INSERT INTO audit({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
               (seq, moment, user, body_json, prev, digest))
    # The head lets verification notice records cut off the end of the chain.
    _set_meta(db, "head", f"{seq}:{digest}")
    return StoredRow(seq, moment, user, body_json, prev, digest)


def ensure_keyed(db: sqlite3.Connection, key: AuditKey, last: StoredRow | None,
                 moment: str) -> tuple[StoredRow | None, list[StoredRow]]:
    """Key the trail at its first keyed write; a legacy trail gets a key_start record naming
    the legacy records it holds. The last record now, and the records written."""
    meta = read_meta(db)
    if "keyed_from" in meta:
        return last, []
    written: list[StoredRow] = []
    if last is not None or "anchor" in meta:
        first = db.execute(f"SELECT {COLUMNS} FROM audit ORDER BY seq LIMIT 1").fetchone()
        opening = row_of(first) if first else None
        legacy_head = last.hash if last else meta["anchor"]
        body = {"kind": SystemKind.KEY_START.value, "user": SYSTEM_USER, "key_id": key.key_id,
                "legacy_first": opening.seq if opening else None,
                "legacy_last": last.seq if last else None,
                "legacy_anchor": opening.prev_hash if opening else legacy_head,
                "legacy_head": legacy_head}
        if last is None:  # every legacy record was pruned: go on from the legacy anchor
            last = StoredRow(0, "", "", "", "", legacy_head)
        last = write_row(db, key, last, moment, SYSTEM_USER, dump_body(body))
        written.append(last)
    # The first keyed record: the key_start record, or record 1 of a new trail.
    _set_meta(db, "keyed_from", str(last.seq if written and last else 1))
    _set_meta(db, "key_id", key.key_id)
    return last, written


def prune_rows(db: sqlite3.Connection, key: AuditKey, cutoff: str, keep_days: int,
               moment: str) -> tuple[int, list[StoredRow]]:
    """Delete the oldest records, up to the first one not older than `cutoff`, and write
    the prune record saying which and how they linked on. How many, and what was written."""
    keep = db.execute("SELECT MIN(seq) FROM audit WHERE at >= ?", (cutoff,)).fetchone()[0]
    bound, args = ("WHERE seq < ?", (keep,)) if keep is not None else ("", ())
    count, through = db.execute(f"SELECT COUNT(*), MAX(seq) FROM audit {bound}",
                                args).fetchone()
    if not count:
        return 0, []
    last, written = ensure_keyed(db, key, last_row(db), moment)
    gone = db.execute("SELECT hash FROM audit WHERE seq = ?", (through,)).fetchone()[0]
    db.execute("DELETE FROM audit WHERE seq <= ?", (through,))
    body = {"kind": SystemKind.PRUNE.value, "user": SYSTEM_USER, "through": through,
            "last_hash": gone, "count": count, "cutoff": cutoff, "keep_days": keep_days}
    written.append(write_row(db, key, last, moment, SYSTEM_USER, dump_body(body)))
    return int(count), written
