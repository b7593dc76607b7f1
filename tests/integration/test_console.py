"""The compliance console in headless Chromium: sign in, find an answer, open a citation."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import httpx
import pytest

from api.wiring import Services

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def browser_page(tmp_path: Path):  # type: ignore[no-untyped-def]
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (.ci/run installs Debian's chromium)")
        pytest.skip("chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page()
        yield page
        browser.close()


def test_sign_in_find_an_answer_and_see_the_highlighted_passage(
    browser_page, client: httpx.Client, server_url: str, demo_services: Services,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    question = "How long is a property valuation report valid for?"
    answer = client.post("/v1/ask", json={"question": question}).json()
    assert answer["citations"], answer
    key, _ = demo_services.keys.create("inspector", [], "compliance")
    page = browser_page
    page.goto(f"{server_url}/console")
    page.fill("#token", "cof_wrong_key")
    page.click("#signin")
    page.wait_for_selector("#error:has-text('401')")
    page.fill("#token", key)
    page.click("#signin")
    page.wait_for_selector("#search-form:not([hidden])")
    page.fill("#q", "valuation report")
    page.click("#search")
    page.locator("li.record", has_text=question).first.click()
    assert page.inner_text("#question") == question
    assert page.inner_text("#answer") == answer["answer"]
    page.locator("li.citation").first.click()
    mark = page.wait_for_selector("#passage mark")
    assert mark is not None
    record = httpx.get(f"{server_url}/v1/audit", params={"text": "valuation report"},
                       headers={"authorization": f"Bearer {key}"}).json()[0]
    first = record["body"]["cited"][0]
    assert mark.inner_text() == first["quote"]
    assert Path(first["document"]).name in page.inner_text("#doc-meta")
    page.screenshot(path=str(tmp_path / "console.png"))
