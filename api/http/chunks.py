"""`GET /v1/chunks/{id}`: a stored passage, to check a citation."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from api import access
from api.auditing import Channel, append, chunk_read_record
from api.auth import Identity
from api.errors import NotFoundError
from api.http.deps import Caller, ServicesDep
from api.http.schemas.common import ChunkOut, DocumentOut
from api.wiring import Services
from indexes.records import StoredChunk

router = APIRouter()


def _read(services: Services, identity: Identity, chunk_id: str) -> StoredChunk | None:
    """The passage if the caller may see it, its reading on the record (blocking). One
    they may not see is refused as absent, and audited as a 404 (api/http/trail.py)."""
    stored = services.index.store.chunk(chunk_id, access.chunk_filter(identity))
    if stored is not None:
        append(services.audit, chunk_read_record(identity, Channel.HTTP, stored))
    return stored


@router.get("/v1/chunks/{chunk_id}", response_model=ChunkOut, summary="A stored passage")
async def chunk(chunk_id: str, identity: Caller, services: ServicesDep) -> ChunkOut:
    """The passage and its document, if the caller may see it (else 404, as if absent)."""
    stored = await run_in_threadpool(_read, services, identity, chunk_id)
    if stored is None:
        raise NotFoundError(f"no chunk {chunk_id}")
    c = stored.chunk
    return ChunkOut(
        chunk_id=c.chunk_id, text=c.text, page=c.page, page_end=c.page_end,
        section=c.section, kind=c.kind, document=DocumentOut.of(stored.document),
    )
