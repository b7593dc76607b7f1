"""The pages people open in a browser: the compliance console, the employees' chat and the
passage view that every channel's citation links open (`api.links`).

A page holds no data, so it is served without credentials: it signs in with a key or token
kept in the tab's sessionStorage and calls the API like any other client.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from api.links import PASSAGE_PATH

PAGES = Path(__file__).resolve().parents[1]
CONSOLE_PAGE = PAGES / "console.html"
CHAT_PAGE = PAGES / "chat.html"
PASSAGE_PAGE = PAGES / "passage.html"

# The chat and passage pages load nothing from anywhere (their CSS and JS are inline) and
# talk to this server only: the browser is told to refuse anything else, so a string that
# slipped into the page could neither load a script nor send data away.
SELF_CONTAINED = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
        "img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}

router = APIRouter()


async def _page(path: Path, headers: dict[str, str] | None = None) -> HTMLResponse:
    # Read in a worker thread: a slow disk must not hold up answers being streamed.
    text = await run_in_threadpool(path.read_text, encoding="utf-8")
    return HTMLResponse(text, headers=headers)


@router.get("/console", response_class=HTMLResponse, include_in_schema=False)
async def console() -> HTMLResponse:
    """The compliance console (it calls /v1/audit and /v1/chunks)."""
    return await _page(CONSOLE_PAGE)


@router.get("/chat", response_class=HTMLResponse, include_in_schema=False)
async def chat() -> HTMLResponse:
    """The employees' chat page (it calls /v1/models to sign in, /v1/ask and /v1/chunks)."""
    return await _page(CHAT_PAGE, SELF_CONTAINED)


@router.get(PASSAGE_PATH + "/{chunk_id}", response_class=HTMLResponse, include_in_schema=False)
async def passage() -> HTMLResponse:
    """The passage view of `api.links.passage_url`: one page for every chunk, which reads
    the chunk id and span from its own address and fetches the chunk as the signed-in
    reader (whether they may see it is the API's to say)."""
    return await _page(PASSAGE_PAGE, SELF_CONTAINED)
