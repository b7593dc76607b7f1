"""The API explorer in headless Chromium: Swagger UI draws every route from this server's
own files and schema, with no request to any other host and nothing blocked by its policy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from api.settings import load_settings
from api.wiring import Services, build_services
from tests.integration.conftest import serving
from tests.unit.fakes import FakeEmbedder, FakeGenerator

pytestmark = pytest.mark.integration


@pytest.fixture
def bare_services(tmp_path: Path) -> Iterator[Services]:
    """Services no model is needed for: the explorer shows routes, it answers nothing."""
    services = build_services(load_settings(data_dir=tmp_path / "data",
                                            models_dir=tmp_path / "models"),
                              embedder=FakeEmbedder(), generator=FakeGenerator(["x"]))
    yield services
    services.close()


def test_swagger_ui_draws_every_route_from_this_server_alone(
    browser_page, bare_services: Services,  # type: ignore[no-untyped-def]
) -> None:
    page = browser_page
    requested: list[str] = []
    problems: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on("console", lambda message: problems.append(message.text)
            if message.type == "error" else None)
    with serving(bare_services) as url:
        page.goto(f"{url}/docs")
        page.wait_for_selector(".opblock-summary-path:has-text('/v1/ask')", timeout=30_000)
        paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert {"/v1/ask", "/v1/search", "/v1/documents", "/v1/chat/completions"} <= {
        p.strip().replace("\u200b", "") for p in paths}
    assert requested and all(r.startswith(url + "/") for r in requested), requested
    assert f"{url}/openapi.json" in requested
    assert problems == []  # no script or style refused by the page's policy
