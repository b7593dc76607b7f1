"""Shared fixtures for integration tests: the real bundled models, FAISS, SQLite, HTTP."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
import uvicorn

from api.app import create_app
from api.settings import load_settings
from api.wiring import Services, build_services
from rag import catalogue

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ROOT = Path(__file__).resolve().parents[2]
DEMO_CORPUS = ROOT / "bench" / "demo" / "corpus"
SHARED = ROOT.parent / "shared"
# Debian's chromium, driven by Playwright (no browser download); no network of its own.
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test of this tier is marked `integration` (a conftest's `pytestmark` is not)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(autouse=True, scope="session")
def _hermetic_environment() -> Iterator[None]:
    """No COFFRE_* variable of the machine running the tests leaks into them."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("COFFRE_")}
    for name in saved:
        del os.environ[name]
    yield
    os.environ.update(saved)


def require_shared(path: Path) -> Path:
    """A folder of ../shared: skipped on a developer's machine without it, failed in CI."""
    if not path.exists():
        message = f"{path} is not present (CI lays ../shared beside the clone)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def demo_services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """Services over a fresh data directory holding the ingested demo corpus."""
    data_dir = tmp_path_factory.mktemp("coffre-data")
    # The default answer model, as users get it: SmolLM2-135M (kept for the offline and
    # catalogue tests) misreads too many figures for assertions on answers to mean much.
    # Named explicitly so a developer's `coffre models use` choice does not leak in.
    services = build_services(load_settings(data_dir=data_dir, threads=2,
                                            llm=catalogue.DEFAULT_MODEL))
    report = services.ingester.run([DEMO_CORPUS])
    assert report.count("failed") == 0, [o for o in report.outcomes if o.status == "failed"]
    yield services
    services.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(services: Services) -> Iterator[str]:
    """The real app over `services`, served by uvicorn on a loopback port in a thread."""
    port = _free_port()
    config = uvicorn.Config(create_app(services), host="127.0.0.1", port=port,
                            log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    url = f"http://127.0.0.1:{port}"
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.2)
    else:  # pragma: no cover
        raise RuntimeError("server did not start")
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def server_url(demo_services: Services) -> Iterator[str]:
    """The demo services over HTTP."""
    with serving(demo_services) as url:
        yield url


@pytest.fixture(scope="session")
def employee_key(demo_services: Services) -> str:
    """An employee of the 'staff' group, which the demo corpus's _acl.json grants."""
    key, _ = demo_services.keys.create("alice", ["staff"], "employee")
    return key


@pytest.fixture(scope="session")
def client(server_url: str, employee_key: str) -> Iterator[httpx.Client]:
    """An HTTP client of the running server, signed in as the employee."""
    with httpx.Client(base_url=server_url, timeout=300,
                      headers={"authorization": f"Bearer {employee_key}"}) as http:
        yield http


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Headless Chromium: skipped on a developer's machine without it, failed in CI."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (.ci/run installs Debian's chromium)")
        pytest.skip("chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def browser_page(browser: Browser) -> Page:
    """A page of its own browser context (fresh sessionStorage), in the browser's locale."""
    return browser.new_page()
