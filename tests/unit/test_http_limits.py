"""Request bodies through the real app: no byte of one is read before its sender is known
and its size allowed (api/http/limits.py).

The app is driven over httpx's ASGI transport with a body streamed from a generator that
counts what the app took of it: "not read" is measured, not assumed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.settings import load_settings
from api.wiring import Services, build_services
from tests.unit.fakes import FakeEmbedder, FakeGenerator
from tests.unit.http_kit import LTV_QUESTION, bearer, library
from tests.unit.test_teams_kit import SigningKey, fake_connector, message, running_bot

MB = 1024 * 1024
CHUNK = 64 * 1024


class Body:
    """`size` bytes streamed in 64 KiB chunks (`head` first, then x's); `taken` counts
    those the app pulled."""

    def __init__(self, size: int, head: bytes = b"") -> None:
        self.size = size
        self.head = head
        self.taken = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        piece = b"x" * CHUNK
        while self.taken < self.size:
            part = (self.head + piece)[:CHUNK] if self.taken == 0 else piece
            part = part[:self.size - self.taken]
            self.taken += len(part)
            yield part


# The start of an upload's multipart body: the groups field, then the file's part.
FILE_PART = (b'--b0undary\r\nContent-Disposition: form-data; name="groups"\r\n\r\nretail\r\n'
             b'--b0undary\r\nContent-Disposition: form-data; name="file"; filename="big.txt"'
             b"\r\nContent-Type: text/plain\r\n\r\n")


def _post(services: Services, path: str, body: Body, headers: dict[str, str],
          declared: bool) -> httpx.Response:
    """POST `body` to the app over `services`: with its Content-Length, or chunked."""
    sent = {**headers, **({"content-length": str(body.size)} if declared else {})}

    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(services, warm_up=False))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            return await http.post(path, content=body, headers=sent)

    return asyncio.run(run())


UPLOAD = {"content-type": "multipart/form-data; boundary=b0undary"}
JSON = {"content-type": "application/json"}


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
@pytest.mark.parametrize(("path", "kind"), [("/v1/documents", UPLOAD), ("/v1/ask", JSON)])
@pytest.mark.parametrize("credentials", [{}, {"authorization": "Bearer cof_nope_nope"}],
                         ids=["no key", "bad key"])
def test_a_large_body_from_an_unknown_caller_is_a_401_and_never_read(
    services: Services, path: str, kind: dict[str, str], credentials: dict[str, str],
    declared: bool,
) -> None:
    body = Body(150 * MB)  # what the probe sent; over every limit too, but who comes first
    response = _post(services, path, body, {**kind, **credentials}, declared)
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    assert set(response.json()) == {"detail"} and "key" in response.json()["detail"]
    assert body.taken == 0  # not one chunk: the server holds none of it
    assert not [r for r in services.audit.records() if r.body["kind"] in ("ask", "upload")]


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_a_json_body_over_the_limit_is_a_413_naming_it(
    services: Services, declared: bool
) -> None:
    body = Body(50 * MB)
    response = _post(services, "/v1/ask", body,
                     {**JSON, **bearer(services, "employee", ("lending",))}, declared)
    assert response.status_code == 413, response.text
    assert response.json() == {"detail": "the request body is over 1,024 KB, the limit of "
                                         "JSON requests (COFFRE_MAX_JSON_KB); send less"}
    # Declared: refused before a byte; streamed: cut within one chunk past the limit.
    assert body.taken == (0 if declared else 1024 * 1024 + CHUNK)
    # Under the limit a body is served whole, however it comes (here in 7-byte pieces).
    books = library(services)
    payload = b'{"query": "loan-to-value buy-to-let", "top_k": 1}'

    async def pieces() -> AsyncIterator[bytes]:
        for start in range(0, len(payload), 7):
            yield payload[start:start + 7]

    async def search() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(services, warm_up=False))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            return await http.post("/v1/search", content=pieces(), headers={
                **JSON, **bearer(services, "employee", ("lending",))})

    found = asyncio.run(search())
    assert found.status_code == 200, found.text
    assert [r["chunk_id"] for r in found.json()["results"]] == [books.chunk_ids["policy"]]


def test_on_the_openai_routes_the_413_is_in_openais_shape(services: Services) -> None:
    response = _post(services, "/v1/chat/completions", Body(2 * MB),
                     {**JSON, **bearer(services, "employee", ("lending",))}, declared=False)
    assert response.status_code == 413
    error = response.json()["error"]
    assert "COFFRE_MAX_JSON_KB" in error["message"] and error["type"] == "invalid_request_error"


@pytest.fixture
def small_files(tmp_path: Path) -> Iterator[Services]:
    """Services whose files may be 1 MB and JSON bodies 4 KB."""
    settings = load_settings(data_dir=tmp_path / "small", models_dir=tmp_path / "models",
                             max_file_mb=1, max_json_kb=4)
    built = build_services(settings, embedder=FakeEmbedder(), generator=FakeGenerator(["x"]))
    yield built
    built.close()


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_an_upload_is_bounded_by_the_file_limit(small_files: Services, declared: bool) -> None:
    body = Body(5 * MB, FILE_PART)
    owner = bearer(small_files, "content_owner", ("retail",))
    response = _post(small_files, "/v1/documents", body, {**UPLOAD, **owner}, declared)
    assert response.status_code == 413, response.text
    assert "1 MB, the limit of uploaded files (COFFRE_MAX_FILE_MB)" in response.json()["detail"]
    assert body.taken <= (0 if declared else MB + 64 * 1024 + CHUNK)
    assert not (small_files.settings.data_dir / "uploads").exists()


def test_the_teams_endpoint_keeps_its_own_token_check_under_the_size_limit(
    tmp_path: Path, fake_generator: FakeGenerator
) -> None:
    key = SigningKey.new()
    with fake_connector() as connector, running_bot(tmp_path, key, connector, fake_generator,
                                                     max_json_kb=4) as bot:
        answered: Any = bot.ask(LTV_QUESTION)  # a Bot Framework token, not a Coffre key
        assert answered.reply_to
        response = bot.post(message("x" * 5000, connector.url))
        assert response.status_code == 413
        assert "COFFRE_MAX_JSON_KB" in response.json()["detail"]
