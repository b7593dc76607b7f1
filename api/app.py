"""The FastAPI application: thin routes over the answering core and the index."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from api.schemas import (
    AskRequest,
    AskResponse,
    ChunkOut,
    DocumentOut,
    SearchRequest,
    SearchResponse,
    SearchResult,
)
from api.wiring import Services
from indexes.errors import IndexStoreError
from indexes.filters import SearchFilter
from rag.answering import Answer
from rag.generation import GenerationError
from rag.reranking import RerankerError

DESCRIPTION = """Coffre answers employees' questions from the bank's own documents only,
citing each claim to its document, page and passage. Nothing leaves this machine."""


def create_app(services: Services, *, warm_up: bool = True) -> FastAPI:
    """The app over already-built services; models load at start-up when `warm_up`."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if warm_up:
            # Load the models once, before the first request, off the event loop.
            await run_in_threadpool(services.embedder.embed_query, "warm up")
            load = getattr(services.generator, "load", None)
            if load is not None:
                await run_in_threadpool(load)
        yield

    app = FastAPI(title="Coffre", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)

    @app.exception_handler(IndexStoreError)
    async def index_error(_: Request, exc: IndexStoreError) -> JSONResponse:
        return JSONResponse(status_code=503, content={"detail": str(exc)})

    @app.exception_handler(RerankerError)
    async def reranker_error(_: Request, exc: RerankerError) -> JSONResponse:
        return JSONResponse(status_code=503, content={"detail": str(exc)})

    @app.exception_handler(GenerationError)
    async def generation_error(_: Request, exc: GenerationError) -> JSONResponse:
        return JSONResponse(status_code=503, content={"detail": str(exc)})

    @app.get("/healthz", summary="Liveness: answers even while an answer is being generated")
    async def healthz() -> dict[str, object]:
        return {"status": "ok"}

    @app.post("/v1/search", response_model=SearchResponse, summary="Ranked chunks, no generation")
    async def search(body: SearchRequest) -> SearchResponse:
        flt = body.filters.to_filter() if body.filters else SearchFilter()
        hits = await run_in_threadpool(
            services.retriever.search, body.query, body.top_k, flt, body.mode
        )
        return SearchResponse(results=[SearchResult.of(h) for h in hits])

    @app.post(
        "/v1/ask",
        response_model=AskResponse,
        summary="Answer a question with cited sources",
        responses={200: {"description": "JSON answer, or server-sent events when stream=true: "
                         "'token' events ({\"text\"}) then one 'answer' event (the AskResponse)."}},
    )
    async def ask(body: AskRequest) -> AskResponse | EventSourceResponse:
        flt = body.filters.to_filter() if body.filters else SearchFilter()
        if not body.stream:
            answer = await run_in_threadpool(
                services.answerer.ask, body.question, flt, body.top_k, body.mode
            )
            return AskResponse.of(answer)
        events = services.answerer.stream(body.question, flt, body.top_k, body.mode)

        async def sse() -> AsyncIterator[dict[str, str]]:
            async for event in iterate_in_threadpool(events):
                if isinstance(event, Answer):
                    yield {"event": "answer", "data": AskResponse.of(event).model_dump_json()}
                else:
                    yield {"event": "token", "data": json.dumps({"text": event})}

        return EventSourceResponse(sse())

    @app.get("/v1/documents", response_model=list[DocumentOut], summary="Ingested documents")
    async def documents() -> list[DocumentOut]:
        docs = await run_in_threadpool(services.index.store.documents, SearchFilter())
        return [DocumentOut.of(d) for d in docs]

    @app.get("/v1/chunks/{chunk_id}", response_model=ChunkOut, summary="A stored passage")
    async def chunk(chunk_id: str) -> ChunkOut:
        stored = await run_in_threadpool(services.index.store.chunk, chunk_id, SearchFilter())
        if stored is None:
            raise HTTPException(status_code=404, detail=f"no chunk {chunk_id}")
        c = stored.chunk
        return ChunkOut(
            chunk_id=c.chunk_id, text=c.text, page=c.page, page_end=c.page_end,
            section=c.section, kind=c.kind, document=DocumentOut.of(stored.document),
        )

    return app
