"""Which routes answer without a key (exactly these), and the API explorer served from
this server's own files: its page refers to no other host."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from html.parser import HTMLParser
from typing import Any

from fastapi.testclient import TestClient
from starlette.routing import Mount

# Public on purpose (README, Security): health, metrics, the pages, the API explorer with
# its files and the schema it reads. None holds bank data.
PUBLIC = {
    ("GET", "/healthz"), ("GET", "/metrics"), ("GET", "/console"), ("GET", "/chat"),
    ("GET", "/passage/{chunk_id}"), ("GET", "/docs"), ("GET", "/openapi.json"),
    ("GET", "/docs-assets"),
}
ASSETS = {"/docs-assets/swagger-ui-bundle.js": "javascript", "/docs-assets/swagger-ui.css":
          "text/css", "/docs-assets/favicon.png": "image/png"}


def _endpoints(routes: Iterable[Any]) -> Iterator[tuple[str, str]]:
    """(method, path) of every route of the app, those of included routers too."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _endpoints(inner.routes)
        elif isinstance(route, Mount):
            yield "GET", route.path
        else:
            yield from ((method, route.path) for method in route.methods - {"HEAD"})


def _address(path: str) -> str:
    if path == "/docs-assets":
        return "/docs-assets/swagger-ui.css"
    return re.sub(r"\{[^}]+\}", "x", path)


def test_exactly_the_public_routes_answer_without_a_key(client: TestClient) -> None:
    endpoints = set(_endpoints(client.app.routes))  # type: ignore[attr-defined]
    assert endpoints >= PUBLIC
    answers = {(m, p): client.request(m, _address(p)).status_code for m, p in endpoints}
    assert {e for e, status in answers.items() if status != 401} == PUBLIC
    assert all(answers[e] == 200 for e in PUBLIC), answers


class _Addresses(HTMLParser):
    """Every address a page's tags refer to (src, href, ...)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found += [v or "" for k, v in attrs
                       if k in {"src", "href", "action", "formaction", "srcset", "data"}]


def test_the_explorer_loads_its_files_from_here_and_nothing_else(client: TestClient) -> None:
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger-ui" in docs.text
    parser = _Addresses()
    parser.feed(docs.text)
    assert set(parser.found) == set(ASSETS)  # its script, style sheet and icon, from here
    # (the other pages are held to the same in test_http_pages.py)
    assert "http://" not in docs.text and "https://" not in docs.text
    for address, kind in ASSETS.items():
        asset = client.get(address)
        assert asset.status_code == 200 and kind in asset.headers["content-type"], address
    assert "url: '/openapi.json'" in docs.text and '"validatorUrl": null' in docs.text
    policy = dict(d.strip().split(" ", 1) for d in docs.headers["content-security-policy"]
                  .split(";"))
    assert policy["default-src"] == "'none'" and policy["connect-src"] == "'self'"
    assert policy["script-src"].split() == ["'self'", "'unsafe-inline'"]
    assert client.get("/redoc").status_code == 404
    assert client.get("/docs/oauth2-redirect").status_code == 404
