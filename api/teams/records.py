"""The audit record of a Teams message Coffre refused to answer for who sent it.

Not an answer record: nothing was retrieved or generated. It says who tried (their Teams
ids, or their Coffre user when they are registered without a role that may ask), in which
conversation, and why; not what they asked, which Coffre was not entitled to read.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from api.auditing import AuditEntry, Channel, append, refused_record
from indexes.audit import AuditLog


class RefusalCause(StrEnum):
    """Why a sender was not answered."""

    UNREGISTERED = "unregistered"  # not in COFFRE_TEAMS_USERS
    ROLE = "role"  # registered, but no role that may ask


@dataclass(frozen=True)
class RefusedSender:
    """A sender refused: whom the record is filed under, and its fields."""

    user: str  # the Coffre user, or `teams:<tenant>/<object id>` for an unregistered one
    tenant_id: str
    object_id: str
    conversation_id: str
    cause: RefusalCause

    def entry(self) -> AuditEntry:
        """The audit entry, built as the trail's other refusals are."""
        return refused_record(self.user, Channel.TEAMS, self.cause.value, {
            "tenant_id": self.tenant_id, "object_id": self.object_id,
            "conversation_id": self.conversation_id})


def record_refused(audit: AuditLog, refused: RefusedSender) -> None:
    """Put the refusal on the record (blocking; AuditError when it cannot be stored)."""
    append(audit, refused.entry())
