"""API keys: stored hashed, each mapped to a user, groups and one role."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from api.errors import KeyStoreError
from api.roles import Role
from indexes.private_files import private_file

ROLES = tuple(role.value for role in Role)
PREFIX = "cof"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY,
    key_hash TEXT NOT NULL,
    user TEXT NOT NULL,
    groups TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
"""


@dataclass(frozen=True)
class ApiKey:
    """A key's record (never the secret)."""

    key_id: str
    user: str
    groups: tuple[str, ...]
    role: str
    created_at: str
    revoked_at: str | None


def _digest(secret: str) -> str:
    # Keys are 256-bit random values: a plain SHA-256 is enough (no password stretching).
    return hashlib.sha256(secret.encode()).hexdigest()


class KeyStore:
    """API keys in SQLite under the data directory."""

    def __init__(self, path: Path) -> None:
        private_file(path)  # 0600 before SQLite opens it: its -wal and -shm follow its mode
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.executescript(_SCHEMA)

    def create(self, user: str, groups: list[str], role: str) -> tuple[str, ApiKey]:
        """A new key: returns the secret (shown once) and its record."""
        if role not in ROLES:
            raise KeyStoreError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
        if not user.strip():
            raise KeyStoreError("a key needs a user")
        key_id = secrets.token_hex(6)
        secret = f"{PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
        record = ApiKey(key_id, user, tuple(sorted(set(groups))), role,
                        datetime.now(UTC).isoformat(timespec="seconds"), None)
        with self._lock:
            self._db.execute(
                "INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, ?, NULL)",
                (key_id, _digest(secret), user, json.dumps(list(record.groups)), role,
                 record.created_at),
            )
        return secret, record

    def lookup(self, secret: str) -> ApiKey | None:
        """The active key matching `secret`, or None."""
        parts = secret.split("_", 2)
        if len(parts) != 3 or parts[0] != PREFIX:
            return None
        with self._lock:
            row = self._db.execute(
                "SELECT key_id, key_hash, user, groups, role, created_at, revoked_at "
                "FROM api_keys WHERE key_id = ?", (parts[1],)
            ).fetchone()
        if row is None or row[6] is not None or not hmac.compare_digest(row[1], _digest(secret)):
            return None
        return ApiKey(row[0], row[2], tuple(json.loads(row[3])), row[4], row[5], row[6])

    def list(self) -> list[ApiKey]:
        """Every key, revoked ones included."""
        with self._lock:
            rows = self._db.execute(
                "SELECT key_id, user, groups, role, created_at, revoked_at FROM api_keys "
                "ORDER BY created_at"
            ).fetchall()
        return [ApiKey(r[0], r[1], tuple(json.loads(r[2])), r[3], r[4], r[5]) for r in rows]

    def revoke(self, key_id: str) -> None:
        """Revoke a key by id; it stops working at once."""
        with self._lock:
            done = self._db.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL",
                (datetime.now(UTC).isoformat(timespec="seconds"), key_id),
            )
        if done.rowcount == 0:
            raise KeyStoreError(f"no active key {key_id}")
