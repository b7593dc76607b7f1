"""`POST /v1/search`: ranked passages, no generation, searched translated like /v1/ask."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from api import access
from api.auditing import Channel, append, search_record
from api.auth import Identity
from api.http.deps import Caller, ServicesDep
from api.http.schemas.common import requested_filter
from api.http.schemas.search import SearchRequest, SearchResponse
from api.wiring import Services
from rag.search import Retrieval

router = APIRouter()


def _search(services: Services, identity: Identity, body: SearchRequest) -> Retrieval:
    """Search within the caller's access and put the search on the record (blocking)."""
    flt = access.search_filter(identity, requested_filter(body.filters))
    retrieval = services.searcher.search(body.query, body.top_k, flt, body.mode)
    append(services.audit, search_record(identity, Channel.HTTP, body.query, retrieval,
                                         services.embedder.model_id))
    return retrieval


@router.post("/v1/search", response_model=SearchResponse, summary="Ranked chunks, no generation")
async def search(body: SearchRequest, identity: Caller, services: ServicesDep) -> SearchResponse:
    """The best passages for a query, within what the caller may read."""
    access.require_reader(identity)
    retrieval = await run_in_threadpool(_search, services, identity, body)
    return SearchResponse.of(retrieval)
