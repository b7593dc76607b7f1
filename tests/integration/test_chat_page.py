"""The employees' chat page and the passage view in headless Chromium, against the real app
over HTTP: the default model on the demo corpus.

Three answers come from the model (a question, its follow-up, an unanswerable question);
the rest of the page (sign-in, languages, the passage view, every failure) needs none. A
failure the server cannot be made to produce on demand (busy, a stream cut short) is
answered by Playwright in the server's own format.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route

from api.wiring import Services

pytestmark = pytest.mark.integration

ANSWER_S = 240_000  # Playwright waits in ms: one answer takes 30-90 s on 2 cores
# The page's own rendering, recorded as it happens: checked sentences may come just before
# the final answer replaces them.
WATCH = """
window.seen = [];
new MutationObserver((changes) => {
  for (const change of changes) for (const node of change.addedNodes) {
    if (node.nodeType !== 1) continue;
    if (node.matches("[data-i18n=writing]")) window.seen.push(["writing", ""]);
    if (node.matches(".sentence")) window.seen.push(["sentence", node.textContent]);
    if (node.matches(".segment, .refusal")) window.seen.push(["final", node.textContent]);
  }
}).observe(document, { subtree: true, childList: true });
"""
# The answer's text as the page shows it, less the "not verified" flags.
SHOWN_TEXT = """(node) => { const copy = node.cloneNode(true);
  copy.querySelectorAll(".flag").forEach((flag) => flag.remove());
  return copy.textContent; }"""


def _sign_in(page: Page, url: str, key: str) -> None:
    page.goto(f"{url}/chat")
    page.fill("#token", key)
    page.click("#signin-button")
    page.wait_for_selector("#chat:not([hidden])")


def _ask(page: Page, question: str) -> Any:
    """Ask as a user does (Enter in the box); the turn, once its answer is complete."""
    turns = page.locator("#conversation > li").count()
    page.fill("#question", question)
    page.press("#question", "Enter")
    turn = page.locator("#conversation > li").nth(turns)
    turn.locator(".reply[aria-busy=false]").wait_for(timeout=ANSWER_S)
    return turn


def _ask_records(url: str, auditor: str, user: str) -> list[dict[str, Any]]:
    """The user's answers on the audit trail, oldest first."""
    records = httpx.get(f"{url}/v1/audit", params={"user": user},
                        headers={"authorization": f"Bearer {auditor}"}).json()
    return [r["body"] for r in reversed(records) if r["body"]["kind"] == "ask"]


def test_the_page_speaks_the_browsers_language_and_says_why_a_key_is_refused(
    browser: Browser, server_url: str,
) -> None:
    french = browser.new_context(locale="fr-FR").new_page()
    french.goto(f"{server_url}/chat")
    assert french.get_attribute("html", "lang") == "fr"
    assert french.inner_text("#signin-button") == "Se connecter"
    assert french.inner_text("label[for=question]") == "Votre question"
    french.fill("#token", "cof_wrong_key")
    french.press("#token", "Enter")
    error = french.locator("#signin-error")
    error.filter(has_text="401").wait_for()
    assert "Échec de la connexion" in error.inner_text()
    assert "invalid or revoked API key" in error.inner_text()  # the server's own words
    assert french.locator("#chat").is_hidden()
    french.click("#lang")
    assert french.get_attribute("html", "lang") == "en"
    assert french.inner_text("#signin-button") == "Sign in"
    english = browser.new_context(locale="en-GB").new_page()
    english.goto(f"{server_url}/chat")
    assert english.get_attribute("html", "lang") == "en"
    assert english.inner_text("#signin-button") == "Sign in"


def test_the_passage_view_opened_on_its_own_asks_for_a_key_and_highlights_the_span(
    browser: Browser, server_url: str, client: httpx.Client, demo_services: Services,
) -> None:
    found = client.post("/v1/search", json={"query": "property valuation report validity",
                                            "top_k": 1}).json()["results"][0]
    text = found["text"]
    start = text.index("valuation")
    end = start + len("valuation report")
    address = f"{server_url}/passage/{found['chunk_id']}?start={start}&end={end}"
    key, _ = demo_services.keys.create("passage-reader", ["staff"], "employee")
    page = browser.new_context().new_page()  # a new tab's sessionStorage: no key yet
    page.goto(address)
    page.locator("#signin").wait_for()
    page.fill("#token", "cof_wrong_key")
    page.click("#signin-button")
    page.locator("#error", has_text="401").wait_for()
    page.fill("#token", key)
    page.click("#signin-button")
    mark = page.locator("#text mark")
    mark.wait_for()
    assert mark.inner_text() == text[start:end]
    assert page.locator("#text").text_content() == text
    assert page.inner_text("#title") == found["document"]["title"]
    assert "retail-credit-policy.pdf" in page.inner_text("#meta")
    assert page.locator("#signin").is_hidden()

    # A reader outside the document's groups: as if the passage did not exist.
    outsider, _ = demo_services.keys.create("outsider", ["elsewhere"], "employee")
    hidden = browser.new_context().new_page()
    hidden.goto(address)
    hidden.fill("#token", outsider)
    hidden.click("#signin-button")
    hidden.locator("#error", has_text="not found").wait_for()
    assert hidden.locator("#passage").is_hidden() and hidden.locator("#text mark").count() == 0


def _stream(*events: tuple[str, dict[str, Any]]) -> str:
    """A server-sent event body as sse-starlette writes it (CRLF line ends)."""
    return "".join(f"event: {name}\r\ndata: {json.dumps(data)}\r\n\r\n" for name, data in events)


def _answered(text: str) -> dict[str, Any]:
    return {"question": "q", "answer": text, "refused": False, "citations": [], "sources": [],
            "model": "m", "prompt_version": "v", "timings": {},
            "sentences": [{"index": 0, "text": text, "verified": False, "support": 0.1,
                           "sources": [], "reason": "no source"}]}


DRAFT = "Unchecked draft words"  # the model's raw text: never shown as the answer
FAILURES: list[tuple[str, dict[str, Any], str]] = [
    ("busy", {"status": 503, "headers": {"Retry-After": "30"},
              "json": {"detail": "the answer model stayed busy"}}, "try again in 30 s"),
    ("rate", {"status": 429, "headers": {"Retry-After": "12"}, "json": {"detail": "slow down"}},
     "try again in 12 s"),
    ("invalid", {"status": 422, "json": {"detail": [
        {"loc": ["body", "question"], "msg": "String should have at most 4000 characters"}]}},
     "(422): question: String should have at most 4000 characters"),
    ("forbidden", {"status": 403, "json": {"detail": "the role 'x' may not ask"}},
     "(403). — the role 'x' may not ask"),
    ("failed", {"status": 200, "content_type": "text/event-stream", "body": _stream(
        ("draft", {"text": DRAFT}), ("error", {"detail": "the audit trail is unwritable"}))},
     "The answer failed: the audit trail is unwritable"),
    ("cut", {"status": 200, "content_type": "text/event-stream",
             "body": _stream(("draft", {"text": DRAFT}))}, "cut off"),
]


def test_every_failure_is_a_clear_message_and_never_a_stuck_page(
    browser_page: Page, server_url: str, demo_services: Services,
) -> None:
    key, record = demo_services.keys.create("unlucky", ["staff"], "employee")
    page = browser_page
    _sign_in(page, server_url, key)
    sent: list[Any] = []
    replies = iter(FAILURES)

    def reply(route: Route) -> None:
        sent.append((route.request.post_data_json, route.request.headers))
        route.fulfill(**next(replies)[1])

    page.route("**/v1/ask", reply)
    for name, _, message in FAILURES:
        turn = _ask(page, f"What is the fee ({name})?")
        assert message in turn.locator(".notice.error").inner_text(), name
        assert DRAFT not in turn.inner_text(), name
        assert page.locator(".progress").count() == 0 and page.is_enabled("#ask"), name
    body, headers = sent[0]
    assert body["stream"] is True and body["history"] == [] and body["question"].endswith("?")
    assert re.fullmatch(r"[0-9a-f-]{36}", body["conversation_id"])
    assert headers["x-coffre-client"] == "chat-page" and headers["authorization"] == f"Bearer {key}"
    assert len({b["conversation_id"] for b, _ in sent}) == 1
    assert all(b["history"] == [] for b, _ in sent)  # nothing answered, nothing to recall

    # An unverified sentence is flagged, as it comes and in the final answer.
    page.unroute("**/v1/ask")
    page.route("**/v1/ask", lambda route: route.fulfill(
        status=200, content_type="text/event-stream", body=_stream(
            ("sentence", {"index": 0, "text": "It is 5 euros.", "verified": False}),
            ("answer", _answered("It is 5 euros.")))))
    turn = _ask(page, "What is the fee?")
    assert turn.locator(".segment.unverified .flag").inner_text() == "not verified"

    page.unroute("**/v1/ask")
    page.route("**/v1/ask", lambda route: route.abort("internetdisconnected"))
    turn = _ask(page, "What is the fee (offline)?")
    assert "could not be reached" in turn.locator(".notice.error").inner_text()

    # The key revoked mid-conversation: the real server's 401 asks to sign in again.
    page.unroute("**/v1/ask")
    demo_services.keys.revoke(record.key_id)
    page.fill("#question", "What is the fee now?")
    page.press("#question", "Enter")
    page.locator("#signin-error", has_text="401").wait_for()
    assert page.locator("#chat").is_hidden()
    assert page.evaluate("sessionStorage.getItem('coffre-token')") is None


def test_ask_cite_follow_up_and_refuse_with_the_default_model(
    browser_page: Page, server_url: str, demo_services: Services, tmp_path: Path,
) -> None:
    key, _ = demo_services.keys.create("chat-user", ["staff"], "employee")
    auditor, _ = demo_services.keys.create("chat-auditor", [], "compliance")
    page = browser_page
    page.add_init_script(WATCH)
    asked: list[Any] = []
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.on("request", lambda r: asked.append(r.post_data_json) if r.url.endswith("/v1/ask")
            else None)
    _sign_in(page, server_url, key)

    paris = _ask(page, "What is the hotel cap per night in Paris?")
    seen = page.evaluate("window.seen")
    kinds = [kind for kind, _ in seen]
    assert "writing" in kinds and "sentence" in kinds, seen
    assert kinds.index("writing") < kinds.index("sentence") < kinds.index("final"), seen
    first = _ask_records(server_url, auditor, "chat-user")[-1]
    assert first["channel"] == "web" and not first["refused"], first
    assert paris.locator(".answer-text").evaluate(SHOWN_TEXT) == first["answer"]
    assert "210" in first["answer"] and first["standalone_question"] is None
    assert paris.locator(".understood").is_hidden()

    # The cited source, highlighted in the side panel, then in the passage view's own tab.
    source = paris.locator(".sources li").first
    quote = source.locator(".quote").inner_text()
    assert quote in {c["quote"] for c in first["cited"]}
    source.locator(".citation").click()
    page.locator("#passage-text mark").wait_for()
    assert page.inner_text("#passage-text mark") == quote
    with page.expect_popup() as opened:
        page.click("#passage-link")
    tab = opened.value
    tab.locator("#text mark").wait_for()  # signed in with the key of the tab it came from
    assert tab.inner_text("#text mark") == quote

    london = _ask(page, "And in London?")
    records = _ask_records(server_url, auditor, "chat-user")
    follow_up = records[-1]
    assert [r["channel"] for r in records] == ["web", "web"]
    assert follow_up["conversation_id"] == first["conversation_id"] is not None
    assert follow_up["standalone_question"] and "London" in follow_up["standalone_question"]
    assert asked[-1]["history"] == [{"role": "user", "text": first["question"]},
                                    {"role": "assistant", "text": first["answer"]}]
    assert follow_up["standalone_question"] in london.locator(".understood").inner_text()
    assert "220" in london.locator(".answer-text").inner_text(), follow_up["answer"]

    page.screenshot(path=str(tmp_path / "conversation.png"), full_page=True)
    page.click("#new-conversation")
    assert page.locator("#conversation > li").count() == 0
    refused = _ask(page, "What is the annual fee for the Northbridge Platinum credit card?")
    record = _ask_records(server_url, auditor, "chat-user")[-1]
    assert record["refused"] and record["conversation_id"] != first["conversation_id"]
    assert asked[-1]["history"] == []
    box = refused.locator(".refusal")
    assert box.is_visible() and record["answer"] in box.inner_text()
    assert refused.locator(".error").count() == 0 and refused.locator(".sources li").count() == 0
    # Nothing but this server was asked for anything: the page works offline.
    assert all(url.startswith(server_url) for url in requested), requested
