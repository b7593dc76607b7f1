"""What reaches /api/messages besides good questions: bad tokens (401, nothing answered or
audited), bodies that are not activities (400), messages Coffre will not answer (told why),
senders it does not know (told whom to ask, and recorded), and activities it ignores.

"Nothing was sent" is checked by what came first: a good question asked after the bad
request must get the first reply the connector sees.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.teams.messages import EMPTY, WELCOME
from rag.answers import MAX_QUESTION_CHARS
from tests.unit.fakes import FakeGenerator
from tests.unit.http_kit import LTV_QUESTION
from tests.unit.test_teams_kit import (
    APP_ID,
    CONTACT,
    STRANGER,
    SUSPENDED,
    TENANT,
    Bot,
    FakeConnector,
    SigningKey,
    card_of,
    fake_connector,
    message,
    running_bot,
    token,
    unsigned_token,
)


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.new()


@pytest.fixture
def connector() -> Iterator[FakeConnector]:
    with fake_connector() as running:
        yield running


@pytest.fixture
def bot(tmp_path: Path, key: SigningKey, connector: FakeConnector,
        fake_generator: FakeGenerator) -> Iterator[Bot]:
    with running_bot(tmp_path, key, connector, fake_generator) as running:
        yield running


def _only_the_next_question_is_answered(bot: Bot) -> None:
    """Ask a good question; its answer must be the first thing the connector got."""
    reply = bot.ask(LTV_QUESTION)
    assert bot.connector.sent("message") == [reply]
    assert len(bot.connector.sent("typing")) == 1
    assert [r["kind"] for r in bot.records()] == ["ask"]
    card_of(reply)


@pytest.mark.parametrize(
    "bad_token",
    [
        pytest.param(lambda key: None, id="none"),
        pytest.param(lambda key: unsigned_token(), id="alg-none"),
        pytest.param(lambda key: token(SigningKey.new()), id="wrong-signature"),
        pytest.param(lambda key: token(key, audience="another-bot"), id="wrong-audience"),
        pytest.param(lambda key: token(key, issuer="https://evil.example"), id="wrong-issuer"),
        pytest.param(lambda key: token(key, expires_in=-3600), id="expired"),
        pytest.param(lambda key: token(key, kid="unknown"), id="unknown-kid"),
    ],
)
def test_a_bad_token_gets_401_json_and_nothing_is_answered_or_audited(
    bot: Bot, key: SigningKey, bad_token: Any
) -> None:
    value = bad_token(key)
    headers = {"authorization": f"Bearer {value}"} if value else {}
    response = bot.http.post("/api/messages", json=message(LTV_QUESTION, bot.connector.url),
                             headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "invalid Bot Framework token" in response.json()["detail"]
    _only_the_next_question_is_answered(bot)


def test_an_activity_from_a_channel_the_key_is_not_endorsed_for_is_refused(bot: Bot) -> None:
    response = bot.post(message(LTV_QUESTION, bot.connector.url, channelId="webchat"))
    assert response.status_code == 401
    assert "not endorsed for the channel 'webchat'" in response.json()["detail"]
    _only_the_next_question_is_answered(bot)


def test_an_activity_sending_replies_elsewhere_than_its_token_says_is_refused(
    bot: Bot, key: SigningKey
) -> None:
    stolen = token(key, service_url="https://smba.trafficmanager.net/emea/")
    response = bot.post(message(LTV_QUESTION, bot.connector.url), stolen)
    assert response.status_code == 401
    assert "serviceUrl is not the one the token was issued for" in response.json()["detail"]
    _only_the_next_question_is_answered(bot)


def test_with_the_production_check_a_loopback_service_url_is_refused(
    tmp_path: Path, key: SigningKey, connector: FakeConnector, fake_generator: FakeGenerator
) -> None:
    with running_bot(tmp_path, key, connector, fake_generator,
                     teams_service_url_check=True) as bot:
        response = bot.post(message(LTV_QUESTION, bot.connector.url))
        assert response.status_code == 401
        assert "is not a Bot Connector's" in response.json()["detail"]
        assert bot.records() == []


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"{not json", "the body is not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"type": "message", "conversation": "a:1", "serviceUrl": "http://x/"}',
         "not a Bot Framework activity: conversation"),
        (b'{"type": "message", "serviceUrl": "http://x/"}', "conversation.id"),
        (b'{"conversation": {"id": "a:1"}, "serviceUrl": "http://x/"}', "type: Field required"),
        (b'{"type": "message", "conversation": {"id": "a:1"}}', "serviceUrl"),
    ],
)
def test_a_body_that_is_not_an_activity_gets_400_json(
    bot: Bot, key: SigningKey, body: bytes, problem: str
) -> None:
    response = bot.http.post("/api/messages", content=body,
                             headers={"authorization": f"Bearer {token(key)}",
                                      "content-type": "application/json"})
    assert response.status_code == 400, response.text
    assert problem in response.json()["detail"]
    _only_the_next_question_is_answered(bot)


def test_a_huge_body_is_refused_before_it_is_read(bot: Bot, key: SigningKey) -> None:
    response = bot.post(message("x" * 1_100_000, bot.connector.url))
    assert response.status_code == 413
    _only_the_next_question_is_answered(bot)


@pytest.mark.parametrize(
    ("text", "extra"),
    [
        ("", {}),
        ("   \n ", {}),
        (None, {"attachments": [{"contentType": "image/png", "contentUrl": "https://x/a.png"}]}),
        ("<at>Coffre</at>", {"entities": [{"type": "mention", "text": "<at>Coffre</at>",
                                           "mentioned": {"id": f"28:{APP_ID}",
                                                         "name": "Coffre"}}]}),
    ],
)
def test_an_empty_message_is_asked_for_a_question_and_not_audited(
    bot: Bot, text: str | None, extra: dict[str, Any]
) -> None:
    reply = bot.ask(text, **extra)
    assert reply.body["text"] == EMPTY
    assert bot.records() == [] and bot.connector.sent("typing") == []


def test_a_question_after_the_bots_mention_is_answered(bot: Bot) -> None:
    mention = {"type": "mention", "text": "<at>Coffre</at>",
               "mentioned": {"id": f"28:{APP_ID}", "name": "Coffre"}}
    bot.ask(f"<at>Coffre</at> {LTV_QUESTION}", entities=[mention])
    (record,) = bot.records("ask")
    assert record["question"] == LTV_QUESTION


def test_a_huge_message_is_told_the_limit_and_not_audited(bot: Bot) -> None:
    reply = bot.ask("why " * 1001)
    assert reply.body["text"] == ("Your message has 4,003 characters; please ask in at "
                                  "most 4,000, one question at a time.")
    assert bot.records() == []


def test_a_message_at_the_limit_is_answered(bot: Bot) -> None:
    question = (LTV_QUESTION + " ") * (MAX_QUESTION_CHARS // (len(LTV_QUESTION) + 1))
    assert len(question.strip()) <= MAX_QUESTION_CHARS
    bot.ask(question)
    assert [r["kind"] for r in bot.records()] == ["ask"]


def test_an_unregistered_user_is_told_whom_to_ask_and_recorded_not_answered(bot: Bot) -> None:
    reply = bot.ask(LTV_QUESTION, user=STRANGER, conversation="a:stranger")
    assert reply.body["text"] == ("You are not registered to use Coffre, so I cannot answer. "
                                  f"To get access, ask {CONTACT}.")
    (record,) = bot.records()
    assert record == {"kind": "refused", "user": f"teams:{TENANT}/{STRANGER}",
                      "channel": "teams", "reason": "unregistered", "tenant_id": TENANT,
                      "object_id": STRANGER, "conversation_id": "a:stranger"}
    assert bot.connector.sent("typing") == []


def test_a_known_user_in_another_tenant_is_not_registered(bot: Bot) -> None:
    reply = bot.ask(LTV_QUESTION, tenant="0d1e2f3a-4b5c-4d6e-8f7a-9b0c1d2e3f4a",
                    channelData={})
    assert "not registered" in reply.body["text"]
    assert [r["reason"] for r in bot.records()] == ["unregistered"]


def test_a_sender_without_an_entra_id_is_not_registered(bot: Bot) -> None:
    body = message(LTV_QUESTION, bot.connector.url)
    del body["from"]["aadObjectId"]
    assert bot.post(body).status_code == 202
    (reply,) = bot.connector.wait_for(1)
    assert "not registered" in reply.body["text"]
    assert bot.records()[0]["user"] == "teams:?/?"


def test_a_suspended_user_is_told_and_recorded(bot: Bot) -> None:
    reply = bot.ask(LTV_QUESTION, user=SUSPENDED)
    assert reply.body["text"] == ("Your Coffre role does not let you ask questions. To change "
                                  f"it, ask {CONTACT}.")
    (record,) = bot.records()
    assert (record["kind"], record["user"], record["reason"]) == ("refused", "carol", "role")


def test_the_bot_added_to_a_chat_says_hello_others_joining_and_typing_are_ignored(
    bot: Bot
) -> None:
    base = message(None, bot.connector.url)
    others = {**base, "type": "conversationUpdate",
              "membersAdded": [{"id": "29:someone-else"}]}
    typing = {**base, "type": "typing"}
    for ignored in (others, typing):
        assert bot.post(ignored).status_code == 202
    added = {**base, "type": "conversationUpdate", "membersAdded": [{"id": f"28:{APP_ID}"}]}
    assert bot.post(added).status_code == 202
    (welcome,) = bot.connector.wait_for(1)
    assert welcome.body["text"] == WELCOME
    assert bot.records() == []


def test_without_an_app_id_the_route_does_not_exist(client: TestClient) -> None:
    response = client.post("/api/messages", json=message("hello", "https://x/"))
    assert response.status_code == 404
    assert "/api/messages" not in client.get("/openapi.json").json()["paths"]
