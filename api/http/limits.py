"""Request bodies are bounded before they are read: who sends one, and how large it may be.

A pure-ASGI middleware (no request object, nothing buffered) looks at every request with
a body before the app reads any of it. The caller must present a valid API key or token
(else 401, the body never read): an anonymous client cannot make the server spool or
parse megabytes. Paths that check credentials of their own (the Teams endpoint, whose
Bot Framework token is checked where it is served) skip that check but not the size
limit. Each route has its limit: uploads COFFRE_MAX_FILE_MB and the multipart framing
around the file, every other body (JSON) COFFRE_MAX_JSON_KB. A declared Content-Length over
it is a 413 at once; a chunked body is counted as it streams in and answered 413 the moment
it passes the limit. The refusals are written by the app's own error mapping, so they have
the usual error shape (OpenAI's on its routes).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import Authenticator
from api.errors import TooLargeError
from api.http.deps import caller
from api.settings import Settings
from indexes.errors import CoffreError

MIB = 1024 * 1024
# Boundaries, part headers, the file name and the groups field around an uploaded file.
MULTIPART_OVERHEAD = 64 * 1024

Render = Callable[[Request, Exception], Awaitable[Response]]


@dataclass(frozen=True)
class BodyLimit:
    """The most bytes a body may have, and what the 413 says of the limit."""

    max_bytes: int
    described: str  # e.g. "1,024 KB, the limit of JSON requests (COFFRE_MAX_JSON_KB)"

    def error(self) -> TooLargeError:
        """The refusal of a body over this limit."""
        return TooLargeError(f"the request body is over {self.described}; send less")


@dataclass(frozen=True)
class BodyLimits:
    """Each route's body limit (by method and path), and the paths that authenticate
    their callers themselves."""

    default: BodyLimit
    routes: tuple[tuple[str, str, BodyLimit], ...] = ()
    keyless: frozenset[str] = frozenset()

    def limit(self, method: str, path: str) -> BodyLimit:
        """The limit of a request to `path` with `method`."""
        for route_method, route_path, limit in self.routes:
            if method == route_method and path == route_path:
                return limit
        return self.default


def body_limits(
    settings: Settings, upload_path: str, jobs_path: str, keyless: Iterable[str]
) -> BodyLimits:
    """The limits the settings give: a file for POST `upload_path`, a job's files for POST
    `jobs_path`, JSON for the rest."""
    json_limit = BodyLimit(settings.max_json_kb * 1024,
                           f"{settings.max_json_kb:,} KB, the limit of JSON requests "
                           "(COFFRE_MAX_JSON_KB)")
    file_limit = BodyLimit(int(settings.max_file_mb * MIB) + MULTIPART_OVERHEAD,
                           f"{settings.max_file_mb:g} MB, the limit of uploaded files "
                           "(COFFRE_MAX_FILE_MB)")
    job_limit = BodyLimit(int(settings.max_job_mb * MIB) + MULTIPART_OVERHEAD,
                          f"{settings.max_job_mb:g} MB, the limit of a job's uploaded files "
                          "(COFFRE_MAX_JOB_MB)")
    return BodyLimits(json_limit, (("POST", upload_path, file_limit),
                                   ("POST", jobs_path, job_limit)), frozenset(keyless))


class _Cut(Exception):
    """Raised into the app where it reads a body it must not have (or no more of it)."""


def _declared_length(headers: Headers) -> int | None:
    value = headers.get("content-length", "")
    return int(value) if value.isdigit() else None


def _has_body(headers: Headers) -> bool:
    return _declared_length(headers) != 0 and (
        "content-length" in headers or "transfer-encoding" in headers)


class BodyGuard:
    """Credentials, then size, before any byte of a body is read (see the module).

    A refused request still goes through the router, so it is counted (and recorded)
    under its route, and a route that reads no body answers as usual: the refusal is
    given where the app first asks for the body, instead of any byte of it.
    """

    def __init__(self, app: ASGIApp, authenticator: Authenticator, limits: BodyLimits,
                 render: Render) -> None:
        self.app = app
        self.authenticator = authenticator
        self.limits = limits
        self.render = render

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse a body from an unknown caller or over its limit; count the others."""
        headers = Headers(scope=scope) if scope["type"] == "http" else Headers()
        if not _has_body(headers):  # nothing to read, or not HTTP (lifespan, WebSocket)
            await self.app(scope, receive, send)
            return
        path = _route_path(scope)
        limit = self.limits.limit(scope["method"], path)
        try:
            if path not in self.limits.keyless and not _caller_overridden(scope):
                # In a worker thread: an API key is looked up in SQLite.
                await run_in_threadpool(self.authenticator.identify,
                                        headers.get("authorization"))
            declared = _declared_length(headers)
            if declared is not None and declared > limit.max_bytes:
                raise limit.error()
        except CoffreError as exc:
            await self._guarded(scope, receive, send, limit, exc)
            return
        await self._guarded(scope, receive, send, limit, None)

    async def _guarded(self, scope: Scope, receive: Receive, send: Send, limit: BodyLimit,
                       refusal: CoffreError | None) -> None:
        """Serve the request; where the app reads a refused body, or counts past the
        limit, stop it there and answer the refusal instead of what it would have sent."""
        received, started = 0, False
        cut: CoffreError | None = None

        async def reading() -> Message:
            nonlocal received, cut
            if refusal is not None:
                cut = refusal
                raise _Cut
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit.max_bytes:
                    cut = limit.error()
                    raise _Cut
            return message

        async def sending(message: Message) -> None:
            nonlocal started
            if cut is not None and not started:
                return  # the app's reply to a body it could not read (FastAPI's 400)
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, reading, sending)
        except Exception:
            if cut is None or started:
                raise
        if cut is not None and not started:
            response = await self.render(Request(scope), cut)
            await response(scope, receive, send)


def _caller_overridden(scope: Scope) -> bool:
    """Whether the app takes its callers from an override of the `caller` dependency
    (FastAPI's way to stand one in) rather than from keys: then so does this check."""
    app = scope.get("app")
    return caller in getattr(app, "dependency_overrides", {})


def _route_path(scope: Scope) -> str:
    """The path the app routes on: without the root path a proxy may have put before it."""
    path, root = str(scope["path"]), str(scope.get("root_path", ""))
    return path[len(root):] if root and path.startswith(root) else path
