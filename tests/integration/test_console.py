"""The compliance console in headless Chromium: sign in, find an answer, open a citation."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from api.wiring import Services

pytestmark = pytest.mark.integration


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
    records = httpx.get(f"{server_url}/v1/audit", params={"text": "valuation report"},
                        headers={"authorization": f"Bearer {key}"}).json()
    # The console's own search and passage read are on the trail too, newer than the answer.
    record = next(r for r in records if r["body"]["kind"] == "ask")
    first = record["body"]["cited"][0]
    assert mark.inner_text() == first["quote"]
    assert Path(first["document"]).name in page.inner_text("#doc-meta")
    page.screenshot(path=str(tmp_path / "console.png"))
