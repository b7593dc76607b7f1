"""`GET /v1/audit`: search the audit trail (compliance); each search is itself audited."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from api import access
from api.auditing import Channel, append, audit_search_record
from api.auth import Identity
from api.http.deps import Caller, ServicesDep
from api.http.schemas.audit import AuditRecordOut
from api.wiring import Services
from indexes.audit import AuditRecord

router = APIRouter()


@dataclass(frozen=True)
class AuditQuery:
    """The filters of one search of the trail."""

    user: str | None
    since: datetime | None
    until: datetime | None
    text: str | None
    document: str | None
    limit: int

    def given(self) -> dict[str, Any]:
        """The filters given, as the search's own record holds them (times in ISO 8601)."""
        return {k: (v.isoformat() if isinstance(v, datetime) else v)
                for k, v in asdict(self).items() if v is not None}


def _searched(services: Services, identity: Identity, query: AuditQuery) -> list[AuditRecord]:
    """The matching records, the search on the record after them (so it is never among
    its own results; blocking)."""
    found = services.audit.search(query.user, query.since, query.until, query.text,
                                  query.document, query.limit)
    append(services.audit, audit_search_record(identity, Channel.HTTP, query.given(), found))
    return found


@router.get("/v1/audit", response_model=list[AuditRecordOut],
            summary="Search the audit trail (compliance role)")
async def audit(
    identity: Caller,
    services: ServicesDep,
    user: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    text: str | None = None,
    document: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditRecordOut]:
    """Records matching every filter given, newest first."""
    access.require_auditor(identity)
    query = AuditQuery(user, since, until, text, document, limit)
    records = await run_in_threadpool(_searched, services, identity, query)
    return [AuditRecordOut.of(r) for r in records]
