"""The Teams bot end to end: Activity JSON signed with a key this test made (its JWKS in a
file), posted over HTTP to the real app served by uvicorn, answered by the real bundled
models from the demo corpus, the replies caught by a fake Bot Connector on loopback.

One question is answered by the default model (30 to 90 seconds here); the other cases are
refused before the model is asked.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.settings import load_settings
from api.wiring import Services
from rag import catalogue
from tests.integration.conftest import serving
from tests.unit.test_teams_kit import (
    APP_ID,
    CONTACT,
    STRANGER,
    TENANT,
    FakeConnector,
    SigningKey,
    card_of,
    card_texts,
    fake_connector,
    message,
    token,
    unsigned_token,
    write_jwks,
)

QUESTION = "What is the maximum loan-to-value for a buy-to-let mortgage?"
STAFF = "2d4f6a8c-0e1a-4c3e-9a5c-7e9a1c3e5a7c"  # the demo corpus's group: staff
OUTSIDER = "4f6a8c0e-2a3c-4e5a-8c7e-9a1c3e5a7c9e"  # registered, in no group of the corpus


@dataclass(frozen=True)
class Served:
    url: str
    services: Services
    connector: FakeConnector
    key: SigningKey

    def post(self, body: Any, authorization: str | None) -> httpx.Response:
        headers = {"authorization": authorization} if authorization else {}
        return httpx.post(f"{self.url}/api/messages", json=body, headers=headers, timeout=30)

    def teams_records(self) -> list[dict[str, Any]]:
        return [r.body for r in self.services.audit.records()
                if r.body.get("channel") == "teams"]


def _users(path: Path) -> Path:
    path.write_text(f"""
[[users]]
tenant_id = "{TENANT}"
object_id = "{STAFF}"
user = "sam"
groups = ["staff"]

[[users]]
tenant_id = "{TENANT}"
object_id = "{OUTSIDER}"
user = "olga"
groups = ["board"]
""")
    return path


@pytest.fixture(scope="module")
def served(demo_services: Services, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Served]:
    """The demo services with the Teams bot on, over HTTP, and the fake connector."""
    folder = tmp_path_factory.mktemp("teams")
    key = SigningKey.new()
    settings = load_settings(
        data_dir=demo_services.settings.data_dir, threads=2, llm=catalogue.DEFAULT_MODEL,
        public_url="https://coffre.bank.example", teams_app_id=APP_ID,
        teams_loopback_connector=True, teams_service_url_check=False,
        teams_jwks=str(write_jwks(folder / "jwks.json", key)),
        teams_users=_users(folder / "users.toml"), teams_contact=CONTACT)
    # The same stores and models; only the settings say the bot is on.
    services = replace(demo_services, settings=settings)
    with fake_connector() as connector, serving(services) as url:
        yield Served(url, services, connector, key)


def _bearer(value: str) -> str:
    return f"Bearer {value}"


@pytest.mark.parametrize("authorization", [
    pytest.param(None, id="none"),
    pytest.param(_bearer(unsigned_token()), id="alg-none"),
    pytest.param("wrong-audience", id="wrong-audience"),
    pytest.param("expired", id="expired"),
    pytest.param("other-key", id="wrong-signature"),
])
def test_bad_tokens_get_401_and_nothing_is_answered(served: Served,
                                                    authorization: str | None) -> None:
    value = {
        "wrong-audience": lambda: _bearer(token(served.key, audience="another-bot")),
        "expired": lambda: _bearer(token(served.key, expires_in=-3600)),
        "other-key": lambda: _bearer(token(SigningKey.new())),
    }.get(authorization or "", lambda: authorization)()
    before = len(served.teams_records())
    response = served.post(message(QUESTION, served.connector.url, user=STAFF), value)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"
    assert "invalid Bot Framework token" in response.json()["detail"]
    assert len(served.teams_records()) == before


def test_a_body_that_is_not_an_activity_gets_400(served: Served) -> None:
    response = httpx.post(f"{served.url}/api/messages", content=b"{not json", timeout=30,
                          headers={"authorization": _bearer(token(served.key)),
                                   "content-type": "application/json"})
    assert response.status_code == 400
    assert "not JSON" in response.json()["detail"]


def _reply(served: Served, body: dict[str, Any], timeout: float = 300) -> dict[str, Any]:
    """Post `body` with a good token; the message that replies to it."""
    before = len(served.connector.sent("message"))
    response = served.post(body, _bearer(token(served.key)))
    assert response.status_code == 202, response.text
    reply = served.connector.wait_for(before + 1, timeout=timeout)[before]
    assert reply.reply_to == body["id"] and reply.conversation_id == body["conversation"]["id"]
    return reply.body


def test_a_registered_user_gets_the_answer_card_with_its_citations_and_page(
    served: Served
) -> None:
    body = message(QUESTION, served.connector.url, user=STAFF, conversation="a:sam-chat")
    reply = _reply(served, body)
    typing = [p for p in served.connector.sent("typing") if p.reply_to == body["id"]]
    assert typing, "the typing indicator comes first"
    texts = card_texts(card_of(served.connector.sent("message")[-1]))
    answer = texts[0]
    assert "70" in answer and "75" not in answer, answer
    assert texts[1] == "Sources"
    cited = texts[2:]
    assert any("retail" in line.lower() and "page 3" in line for line in cited), cited
    assert any(line.startswith("[1] [") and "](https://coffre.bank.example/passage/" in line
               for line in cited), cited
    assert reply["entities"][0]["additionalType"] == ["AIGeneratedContent"]
    assert reply["entities"][0]["citation"][0]["position"] == 1
    record = served.teams_records()[-1]
    assert (record["kind"], record["user"], record["refused"]) == ("ask", "sam", False)
    assert record["conversation_id"] == "a:sam-chat"
    assert ("retail-credit-policy.pdf", 3) in {
        (c["document"].rsplit("/", 1)[-1], c["page"]) for c in record["cited"]}


def test_a_user_of_another_group_does_not_get_the_staff_documents(served: Served) -> None:
    reply = _reply(served, message(QUESTION, served.connector.url, user=OUTSIDER))
    assert reply["text"].startswith("I don't know")
    assert "retail-credit-policy" not in str(reply) and "attachments" not in reply
    record = served.teams_records()[-1]
    assert (record["user"], record["refused"], record["retrieved"]) == ("olga", True, [])


def test_an_unregistered_user_is_told_whom_to_ask(served: Served) -> None:
    reply = _reply(served, message(QUESTION, served.connector.url, user=STRANGER))
    assert reply["text"] == ("You are not registered to use Coffre, so I cannot answer. "
                             f"To get access, ask {CONTACT}.")
    record = served.teams_records()[-1]
    assert (record["kind"], record["reason"]) == ("refused", "unregistered")
