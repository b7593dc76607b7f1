"""What a record of the audit trail is made of, and the two hashes that chain records.

A record's digest covers its position, time, user, body and its predecessor's digest. Records
written before the trail had a key (legacy) carry a plain SHA-256 of that; every record since
carries an HMAC-SHA256 under the trail's key, which nobody without the key can recompute.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from indexes.audit_key import AuditKey

GENESIS = "0" * 64
SYSTEM_USER = "coffre"  # whom the trail's own records (pruning, keying) are filed under


class SystemKind(StrEnum):
    """The records the trail writes about itself."""

    PRUNE = "prune"  # records older than the retention period deleted: which, and the link
    KEY_START = "key_start"  # a legacy trail keyed from here on: what it held at that moment


@dataclass(frozen=True)
class StoredRow:
    """A record as stored: its body still the exact JSON text its digest covers."""

    seq: int
    at: str
    user: str
    body_json: str
    prev_hash: str
    hash: str

    def kind(self) -> str | None:
        """The body's `kind`, or None when it has none (or is not a JSON object)."""
        try:
            body = json.loads(self.body_json)
        except ValueError:
            return None
        return str(body.get("kind")) if isinstance(body, dict) else None

    def body(self) -> dict[str, Any]:
        """The parsed body."""
        parsed: dict[str, Any] = json.loads(self.body_json)
        return parsed


def chain_payload(seq: int, at: str, user: str, body_json: str, prev_hash: str) -> str:
    """The text a record's digest is taken over."""
    return "\x1f".join([str(seq), at, user, body_json, prev_hash])


def record_hash(seq: int, at: str, user: str, body_json: str, prev_hash: str) -> str:
    """The plain SHA-256 digest of a legacy (unkeyed) record."""
    payload = chain_payload(seq, at, user, body_json, prev_hash)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def record_mac(key: AuditKey, seq: int, at: str, user: str, body_json: str,
               prev_hash: str) -> str:
    """The HMAC-SHA256 digest of a keyed record."""
    return key.mac(chain_payload(seq, at, user, body_json, prev_hash))


def dump_body(body: dict[str, Any]) -> str:
    """The stored JSON text of a body (sorted keys, so equal bodies hash alike)."""
    return json.dumps(body, sort_keys=True, ensure_ascii=False, default=str)
