"""The FastAPI application: thin routes over the answering core and the index."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated

from fastapi import (
    Depends,
    FastAPI,
    File,
    Form,
    Header,
    HTTPException,
    Query,
    Request,
    UploadFile,
)
from fastapi.responses import HTMLResponse, JSONResponse
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from api.auditing import ask_record, interrupted_record, search_record
from api.auth import ForbiddenError, Identity
from api.schemas import (
    AskRequest,
    AskResponse,
    AuditRecordOut,
    ChunkOut,
    DocumentOut,
    GroupsUpdate,
    IngestOut,
    SearchRequest,
    SearchResponse,
    SearchResult,
)
from api.streaming import off_the_loop, shielded
from api.uploads import store_upload
from api.wiring import Services
from indexes.errors import AuditError, CoffreError
from indexes.filters import SearchFilter
from indexes.records import DocumentRecord
from rag.answering import Answer


def caller(request: Request, authorization: Annotated[str | None, Header()] = None) -> Identity:
    """The authenticated caller of a request (every route but /healthz needs one)."""
    services: Services = request.app.state.services
    return services.authenticator.identify(authorization)


Caller = Annotated[Identity, Depends(caller)]

CONSOLE_PAGE = Path(__file__).with_name("console.html")

DESCRIPTION = """Coffre answers employees' questions from the bank's own documents only,
citing each claim to its document, page and passage. Nothing leaves this machine."""


def create_app(services: Services, *, warm_up: bool = True) -> FastAPI:
    """The app over already-built services; models load at start-up when `warm_up`."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(services.audit.prune, services.settings.audit_retention_days)
        if warm_up:
            # Load the models once, before the first request, off the event loop.
            await run_in_threadpool(services.embedder.embed_query, "warm up")
            load = getattr(services.generator, "load", None)
            if load is not None:
                await run_in_threadpool(load)
        yield

    app = FastAPI(title="Coffre", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)

    app.state.services = services

    def audited(body: dict[str, object], identity: Identity) -> None:
        services.audit.append(identity.user, body)

    @app.exception_handler(CoffreError)
    async def coffre_error(_: Request, exc: CoffreError) -> JSONResponse:
        # The one mapping of the error tree (indexes.errors) to HTTP: status, headers, message.
        return JSONResponse(status_code=exc.http_status, content={"detail": str(exc)},
                            headers=exc.headers)

    @app.get("/console", response_class=HTMLResponse, include_in_schema=False)
    async def console() -> HTMLResponse:
        # The page itself holds no data: it signs in with a key or token and calls /v1/audit.
        return HTMLResponse(CONSOLE_PAGE.read_text(encoding="utf-8"))

    @app.get("/healthz", summary="Liveness: answers even while an answer is being generated")
    async def healthz() -> dict[str, object]:
        return {"status": "ok"}

    @app.post("/v1/search", response_model=SearchResponse, summary="Ranked chunks, no generation")
    async def search(body: SearchRequest, identity: Caller) -> SearchResponse:
        identity.require("employee", "content_owner", "compliance")
        access = identity.search_filter()
        flt = body.filters.to_filter(access) if body.filters else access
        hits = await run_in_threadpool(
            services.retriever.search, body.query, body.top_k, flt, body.mode
        )
        record = search_record(services, identity, "http", body.query, hits)
        await run_in_threadpool(audited, record, identity)
        return SearchResponse(results=[SearchResult.of(h) for h in hits])

    @app.post(
        "/v1/ask",
        response_model=AskResponse,
        summary="Answer a question with cited sources",
        responses={200: {"description": "JSON answer, or server-sent events when stream=true: "
                         "'token' events ({\"text\"}) then one 'answer' event (the AskResponse)."}},
    )
    async def ask(body: AskRequest, identity: Caller) -> AskResponse | EventSourceResponse:
        identity.require("employee", "content_owner", "compliance")
        access = identity.search_filter()
        flt = body.filters.to_filter(access) if body.filters else access
        if not body.stream:
            answer = await run_in_threadpool(
                services.answerer.ask, body.question, flt, body.top_k, body.mode
            )
            await run_in_threadpool(
                audited, ask_record(services, identity, "http", answer), identity)
            return AskResponse.of(answer)
        events = services.answerer.stream(body.question, flt, body.top_k, body.mode)

        async def sse() -> AsyncIterator[dict[str, str]]:
            sent: list[str] = []
            finished = False
            try:
                async with aclosing(off_the_loop(events)) as stream:
                    async for event in stream:
                        if not isinstance(event, Answer):
                            sent.append(event)
                            yield {"event": "token", "data": json.dumps({"text": event})}
                            continue
                        finished = True
                        try:
                            await run_in_threadpool(
                                audited, ask_record(services, identity, "http", event), identity)
                        except AuditError as exc:
                            yield {"event": "error", "data": json.dumps({"detail": str(exc)})}
                            return
                        yield {"event": "answer", "data": AskResponse.of(event).model_dump_json()}
            except CoffreError as exc:
                # The response has started (200): the error travels as an event.
                finished = True
                yield {"event": "error", "data": json.dumps({"detail": str(exc)})}
            finally:
                if not finished:
                    # The client went away mid-answer: what it was sent is on the record.
                    record = interrupted_record(services, identity, "http", body.question,
                                                "".join(sent))
                    await shielded(audited, record, identity)

        return EventSourceResponse(sse())

    @app.get("/v1/documents", response_model=list[DocumentOut], summary="Ingested documents")
    async def documents(identity: Caller) -> list[DocumentOut]:
        docs = await run_in_threadpool(services.index.store.documents, identity.search_filter())
        return [DocumentOut.of(d) for d in docs]

    def _owned_document(doc_id: str, identity: Identity) -> DocumentRecord:
        """The document if the caller may manage it: admins, or owners of one of its groups."""
        identity.require("content_owner")
        document = services.index.store.document(doc_id)
        visible = document is not None and (
            identity.is_admin or bool(identity.groups & set(document.groups)))
        if document is None or not visible:
            raise HTTPException(status_code=404, detail=f"no document {doc_id}")
        return document

    @app.post("/v1/documents", response_model=IngestOut, status_code=201,
              summary="Upload and ingest a document for some groups (content owner, admin)")
    async def upload(
        identity: Caller,
        file: Annotated[UploadFile, File(description="The document (PDF, DOCX, ...).")],
        groups: Annotated[str, Form(description="Comma-separated groups allowed to read it.")],
    ) -> IngestOut:
        identity.require("content_owner")
        wanted = sorted({g.strip() for g in groups.split(",") if g.strip()})
        if not wanted:
            raise HTTPException(status_code=422, detail="groups: give at least one group")
        if not identity.is_admin and not set(wanted) <= identity.groups:
            raise ForbiddenError("content owners can only grant groups they belong to")
        limit = int(services.settings.max_file_mb * 1024 * 1024)
        data = await file.read(limit + 1)
        if len(data) > limit:
            raise HTTPException(status_code=413, detail=f"{file.filename}: over the "
                                f"{services.settings.max_file_mb:g} MB limit")
        outcome = await run_in_threadpool(
            store_upload, services, file.filename or "", data, wanted)
        await run_in_threadpool(audited, {"kind": "upload", "user": identity.user,
                                          "file": outcome.path, "groups": wanted,
                                          "status": outcome.status}, identity)
        if outcome.status not in ("ok", "unchanged"):
            raise HTTPException(status_code=422, detail=f"{file.filename}: {outcome.reason}")
        return IngestOut(file=file.filename or "", status=outcome.status,
                         chunks=outcome.chunks, groups=wanted)

    @app.delete("/v1/documents/{doc_id}", status_code=204,
                summary="Delete a document, its chunks and vectors (content owner, admin)")
    async def delete_document(doc_id: str, identity: Caller) -> None:
        await run_in_threadpool(_owned_document, doc_id, identity)
        await run_in_threadpool(services.index.delete, doc_id)
        await run_in_threadpool(services.index.save)
        await run_in_threadpool(audited, {"kind": "delete", "user": identity.user,
                                          "doc_id": doc_id}, identity)

    @app.patch("/v1/documents/{doc_id}", response_model=DocumentOut,
               summary="Change who may read a document (content owner, admin)")
    async def set_groups(doc_id: str, body: GroupsUpdate, identity: Caller) -> DocumentOut:
        await run_in_threadpool(_owned_document, doc_id, identity)
        if not identity.is_admin and not set(body.groups) <= identity.groups:
            raise ForbiddenError("content owners can only grant groups they belong to")
        await run_in_threadpool(services.index.store.set_groups, doc_id, body.groups)
        await run_in_threadpool(audited, {"kind": "set_groups", "user": identity.user,
                                          "doc_id": doc_id, "groups": body.groups}, identity)
        document = services.index.store.document(doc_id)
        assert document is not None
        return DocumentOut.of(document)

    @app.get("/v1/chunks/{chunk_id}", response_model=ChunkOut, summary="A stored passage")
    async def chunk(chunk_id: str, identity: Caller) -> ChunkOut:
        # Compliance officers check any citation; everyone else only what they may read.
        access = SearchFilter() if "compliance" in identity.roles else identity.search_filter()
        stored = await run_in_threadpool(services.index.store.chunk, chunk_id, access)
        if stored is None:
            raise HTTPException(status_code=404, detail=f"no chunk {chunk_id}")
        c = stored.chunk
        return ChunkOut(
            chunk_id=c.chunk_id, text=c.text, page=c.page, page_end=c.page_end,
            section=c.section, kind=c.kind, document=DocumentOut.of(stored.document),
        )

    @app.get("/v1/audit", response_model=list[AuditRecordOut],
             summary="Search the audit trail (compliance role)")
    async def audit(
        identity: Caller,
        user: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        text: str | None = None,
        document: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[AuditRecordOut]:
        identity.require("compliance")
        records = await run_in_threadpool(
            services.audit.search, user, since, until, text, document, limit)
        return [AuditRecordOut(**r.__dict__) for r in records]

    return app
