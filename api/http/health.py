"""`GET /healthz` (no credentials) and the compliance console page."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

CONSOLE_PAGE = Path(__file__).resolve().parents[1] / "console.html"

router = APIRouter()


@router.get("/console", response_class=HTMLResponse, include_in_schema=False)
async def console() -> HTMLResponse:
    """The compliance console."""
    # The page itself holds no data: it signs in with a key or token and calls /v1/audit.
    page = await run_in_threadpool(CONSOLE_PAGE.read_text, encoding="utf-8")
    return HTMLResponse(page)


@router.get("/healthz", summary="Liveness: answers even while an answer is being generated")
async def healthz() -> dict[str, object]:
    """Always ok while the process serves requests."""
    return {"status": "ok"}
