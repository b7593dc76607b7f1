"""The browser pages: served without credentials, self-contained, in step with the API.

What the pages do in a browser is tested in tests/integration (test_chat_page.py,
test_console.py); here, what the server sends and what the pages promise in their source.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from api.http import ask as ask_route
from api.http import pages
from api.http.schemas.ask import MAX_TURN_CHARS, MAX_TURNS
from api.links import passage_url
from api.wiring import Services
from rag.answers import MAX_QUESTION_CHARS, Query
from tests.unit.http_kit import LTV_QUESTION, library

PAGES = {"/console": pages.CONSOLE_PAGE, "/chat": pages.CHAT_PAGE,
         "/passage/0123abcd?start=4&end=9": pages.PASSAGE_PAGE}
ADDRESS_ATTRIBUTES = {"src", "href", "action", "formaction", "srcset", "poster", "data"}


class _Tags(HTMLParser):
    """Every start tag's attributes, and the text of the page's scripts and styles."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.code: list[str] = []
        self._inside: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        self._inside = tag if tag in ("script", "style") else None

    def handle_endtag(self, tag: str) -> None:
        self._inside = None

    def handle_data(self, data: str) -> None:
        if self._inside:
            self.code.append(data)


def _parsed(html: str) -> _Tags:
    tags = _Tags()
    tags.feed(html)
    return tags


@pytest.mark.parametrize("path", PAGES)
def test_each_page_is_served_without_credentials(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.text == PAGES[path].read_text(encoding="utf-8")


@pytest.mark.parametrize("path", PAGES)
def test_no_page_loads_anything_from_another_host(client: TestClient, path: str) -> None:
    html = client.get(path).text
    parsed = _parsed(html)
    for tag, attrs in parsed.tags:
        for name in ADDRESS_ATTRIBUTES & attrs.keys():
            address = urlsplit(attrs[name])
            # Same origin only: a path, or an inline data: icon.
            assert not address.netloc and address.scheme in ("", "data"), (tag, attrs)
    assert not any(tag == "link" and attrs.get("rel") == "stylesheet" for tag, attrs in parsed.tags)
    assert "http://" not in html and "https://" not in html
    code = "\n".join(parsed.code)
    assert "@import" not in code and not re.search(r"url\(\s*['\"]?(?!data:)", code)
    assert parsed.code, "the CSS and JS are inline"


@pytest.mark.parametrize("path", ["/chat", "/passage/0123abcd"])
def test_the_employee_pages_tell_the_browser_to_load_nothing_else(
    client: TestClient, path: str
) -> None:
    policy = client.get(path).headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["connect-src"] == "'self'"  # the API of this server, nothing else
    assert directives["frame-ancestors"] == "'none'"


@pytest.mark.parametrize("page", [pages.CHAT_PAGE, pages.PASSAGE_PAGE])
def test_the_employee_pages_write_server_strings_as_text_only(page: Path) -> None:
    source = page.read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in source, sink
    assert "textContent" in source


def test_the_console_is_still_the_compliance_console(client: TestClient) -> None:
    console = client.get("/console")
    assert "/v1/audit" in console.text and "compliance console" in console.text
    assert "content-security-policy" not in console.headers  # served as it always was


def test_the_pages_are_not_api_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not {"/console", "/chat", "/passage/{chunk_id}"} & paths.keys()


def test_a_passage_link_of_a_real_citation_opens_the_passage_page(
    client: TestClient, services: Services
) -> None:
    library(services)
    citation = services.answerer.ask(Query(LTV_QUESTION)).citations[0]
    url = urlsplit(passage_url("http://testserver", citation))
    response = client.get(f"{url.path}?{url.query}")
    assert response.status_code == 200 and "/v1/chunks/" in response.text
    assert url.query == f"start={citation.start}&end={citation.end}"
    assert client.get("/passage").status_code == 404  # a chunk id is part of the address


def test_the_chat_page_asks_as_the_api_expects() -> None:
    source = pages.CHAT_PAGE.read_text(encoding="utf-8")
    # The header that files its answers under the web channel, and the API's limits.
    assert f'"x-coffre-client": "{ask_route.CHAT_PAGE}"' in source
    assert f'maxlength="{MAX_QUESTION_CHARS}"' in source
    assert f"MAX_TURN_CHARS = {MAX_TURN_CHARS}, MAX_TURNS = {MAX_TURNS};" in source
    assert '"/v1/ask"' in source and '"/v1/models"' in source and "stream: true" in source


@pytest.mark.parametrize("page", [pages.CHAT_PAGE, pages.PASSAGE_PAGE])
def test_every_field_has_a_label_and_the_page_a_language(page: Path) -> None:
    parsed = _parsed(page.read_text(encoding="utf-8"))
    labelled = {attrs["for"] for tag, attrs in parsed.tags if tag == "label" and "for" in attrs}
    fields = {attrs["id"] for tag, attrs in parsed.tags if tag in ("input", "textarea")}
    assert fields and fields <= labelled
    assert any(tag == "html" and attrs.get("lang") for tag, attrs in parsed.tags)
    assert any("aria-live" in attrs or attrs.get("role") in ("status", "alert")
               for _, attrs in parsed.tags)
