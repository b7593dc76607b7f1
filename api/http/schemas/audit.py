"""Bodies of `GET /v1/audit`."""

from __future__ import annotations

from pydantic import BaseModel

from indexes.audit import AuditRecord


class AuditRecordOut(BaseModel):
    """One audit record as stored, with its chain hashes."""

    seq: int
    at: str
    user: str
    body: dict[str, object]
    prev_hash: str
    hash: str

    @classmethod
    def of(cls, record: AuditRecord) -> AuditRecordOut:
        """From the stored record."""
        return cls(seq=record.seq, at=record.at, user=record.user, body=record.body,
                   prev_hash=record.prev_hash, hash=record.hash)
