"""The FastAPI application, assembled: start-up, the one error mapping, the routers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.generators import warm_up as warm_up_generator
from api.http import (
    ask,
    audit,
    chat,
    chunks,
    documents,
    explorer,
    health,
    jobs,
    metrics,
    pages,
    search,
    teams,
)
from api.http.limits import BodyGuard, body_limits
from api.http.trail import RefusalRecorder, RefusalTrail
from api.metrics import MetricsMiddleware
from api.wiring import Services
from indexes.errors import CoffreError

DESCRIPTION = """Coffre answers employees' questions from the bank's own documents only,
citing each claim to its document, page and passage. Nothing leaves this machine."""


def lifespan(
    services: Services, warm_up: bool, refusals: RefusalRecorder | None = None
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Start-up: prune the audit trail and start the ingestion jobs' runner; with `warm_up`,
    load the models and fingerprint the answer model's file, all in worker threads, before
    the first request. Shutdown: the runner stopped, the refusals still queued and counted
    written, and the trail's head anchored."""

    @asynccontextmanager
    async def start(_: FastAPI) -> AsyncIterator[None]:
        """Everything blocking runs in worker threads, so the loop never waits on it."""
        await run_in_threadpool(services.audit.prune, services.settings.audit_retention_days)
        await run_in_threadpool(services.job_runner.start)  # queued and interrupted jobs run
        if warm_up:
            await run_in_threadpool(services.embedder.embed_query, "warm up")
            await run_in_threadpool(warm_up_generator, services.generator)
        yield
        await run_in_threadpool(services.job_runner.stop)
        if refusals is not None:
            await run_in_threadpool(refusals.close)
        await run_in_threadpool(services.audit.anchor_head)

    return start


async def coffre_error(request: Request, exc: Exception) -> JSONResponse:
    """The one mapping of the error tree (indexes.errors) to HTTP: status, headers, message.

    The OpenAI-compatible routes write the same status and headers in OpenAI's error body,
    the only one their clients read.
    """
    assert isinstance(exc, CoffreError)
    if chat.speaks_openai(request):
        return chat.coffre_error(exc)
    return JSONResponse(status_code=exc.http_status, content={"detail": str(exc)},
                        headers=exc.headers)


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """A body that does not validate: FastAPI's 422, in OpenAI's shape on its routes."""
    assert isinstance(exc, RequestValidationError)
    if chat.speaks_openai(request):
        return chat.validation_error(exc)
    # Each problem's place, message and type; never the input it was about, which may be
    # megabytes long or not encodable (a lone surrogate) and is the caller's own anyway.
    problems = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]}
                for e in exc.errors()]
    return JSONResponse(status_code=422, content={"detail": problems})


def create_app(services: Services, *, warm_up: bool = True) -> FastAPI:
    """The app over already-built services; models load at start-up when `warm_up`."""
    refusals = RefusalRecorder(services.audit, services.authenticator,
                               services.settings.audit_refusal_window_s)
    # Swagger UI from local files (api/http/explorer.py), no ReDoc. Public without a key:
    # /docs, /docs-assets, /openapi.json, /healthz, /metrics and the pages, none holding
    # bank data (README, Security); every other route needs a key or token.
    app = FastAPI(title="Coffre", version="0.1.0", description=DESCRIPTION,
                  lifespan=lifespan(services, warm_up, refusals), docs_url=None,
                  redoc_url=None)
    app.state.refusals = refusals
    app.state.services = services
    app.add_exception_handler(CoffreError, coffre_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    for routes in (health, pages, search, ask, chat, documents, jobs, chunks, audit):
        app.include_router(routes.router)
    explorer.install(app)
    # No body is read before its sender is known and its size allowed (inside the metrics
    # middleware, so its 401s and 413s are counted).
    app.add_middleware(BodyGuard, authenticator=services.authenticator, render=coffre_error,
                       limits=body_limits(services.settings, documents.UPLOAD_PATH,
                                          jobs.JOBS_PATH, keyless=(teams.PATH,)))
    bot = teams.router_for(services)  # POST /api/messages, only when Teams is configured
    if bot is not None:
        app.include_router(bot)
    if services.settings.metrics:
        _measure(app, services)
    # Added last, so it is the outermost middleware: it sees every 401, 403, 404 and 413,
    # those the other middleware write before routing included. Keep it last.
    app.add_middleware(RefusalTrail, recorder=refusals, router=app.router)
    return app


def _measure(app: FastAPI, services: Services) -> None:
    """GET /metrics, and every request counted and timed by its route template."""
    app.include_router(metrics.router)
    app.add_middleware(MetricsMiddleware, metrics=services.metrics)
