"""`GET /v1/audit`: search the audit trail (compliance)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from api import access
from api.http.deps import Caller, ServicesDep
from api.http.schemas.audit import AuditRecordOut

router = APIRouter()


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
    records = await run_in_threadpool(
        services.audit.search, user, since, until, text, document, limit)
    return [AuditRecordOut.of(r) for r in records]
