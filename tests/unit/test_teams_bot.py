"""The Teams bot's answers through the real app: activities posted to /api/messages with
signed tokens, the replies caught by a fake Bot Connector on loopback, the fake models."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from api.teams.memory import ConversationMemory, Thread
from rag.answers import Speaker, Turn
from rag.errors import GenerationError
from rag.generation import GenerationConfig, Purpose
from tests.unit.fakes import FakeEmbedder, FakeGenerator, make_item
from tests.unit.http_kit import LTV_ANSWER, LTV_QUESTION, LTV_TEXT
from tests.unit.test_teams_kit import (
    APP_ID,
    BOB,
    PUBLIC_URL,
    Bot,
    FakeConnector,
    SigningKey,
    card_of,
    card_texts,
    fake_connector,
    message,
    running_bot,
)

ANSWER_TEXT = "The maximum loan-to-value for a buy-to-let mortgage is 70 percent. [1]"


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


def test_a_question_gets_typing_then_the_card_with_answer_and_citations(bot: Bot) -> None:
    reply = bot.ask(LTV_QUESTION)
    (typing,) = bot.connector.sent("typing")
    assert bot.connector.posted.index(typing) < bot.connector.posted.index(reply)
    texts = card_texts(card_of(reply))
    assert texts[0] == ANSWER_TEXT
    assert texts[1] == "Sources"
    link = f"{PUBLIC_URL}/passage/{bot.library.chunk_ids['policy']}?start="
    assert texts[2].startswith(f"[1] [Retail Credit Policy]({link}")
    assert "70 percent of the valuation" in texts[3]
    assert reply.body["entities"][0]["additionalType"] == ["AIGeneratedContent"]
    assert reply.body["from"]["id"] == f"28:{APP_ID}"
    assert reply.authorization is None  # the loopback test connector: no token
    (record,) = bot.records("ask")
    assert (record["channel"], record["user"], record["refused"]) == ("teams", "alice", False)
    assert record["conversation_id"] == "a:1-personal-chat"
    assert [c["doc_id"] for c in record["cited"]] == [bot.library.doc_ids["policy"]]


def test_the_page_of_a_source_shows_in_the_card(bot: Bot) -> None:
    embedder = bot.services.embedder
    assert isinstance(embedder, FakeEmbedder)
    item = make_item(embedder, "Valuation rules", [LTV_TEXT], groups=("lending",))
    bot.services.index.delete(bot.library.doc_ids["policy"])
    bot.services.index.add([replace(item, chunks=[replace(item.chunks[0], page=3)])])
    line = card_texts(card_of(bot.ask(LTV_QUESTION)))[2]
    assert line.startswith("[1] [Valuation rules](") and line.endswith("), page 3")


def test_without_quotes_the_card_has_titles_pages_and_links_only(
    tmp_path: Path, key: SigningKey, connector: FakeConnector, fake_generator: FakeGenerator
) -> None:
    with running_bot(tmp_path, key, connector, fake_generator, teams_quotes=False) as bot:
        reply = bot.ask(LTV_QUESTION)
    texts = card_texts(card_of(reply))
    assert texts[:2] == [ANSWER_TEXT, "Sources"] and len(texts) == 3
    assert "of the valuation" not in str(reply.body)


def test_an_unanswerable_question_gets_i_dont_know_in_words(bot: Bot) -> None:
    reply = bot.ask("What is the best recipe for a chocolate cake?")
    assert reply.body["text"].startswith("I don't know")
    assert "attachments" not in reply.body
    assert reply.body["entities"][0]["additionalType"] == ["AIGeneratedContent"]
    (record,) = bot.records("ask")
    assert record["refused"] is True and record["refusal_reason"] == "relevance"


def test_a_user_of_one_group_never_gets_another_groups_document(bot: Bot) -> None:
    # Bob (retail) asks what only the lending group's policy answers.
    reply = bot.ask(LTV_QUESTION, user=BOB)
    assert "Retail Credit Policy" not in str(reply.body)
    assert bot.library.chunk_ids["policy"] not in str(reply.body)
    # Alice (lending, staff) asks what only the board's minutes say.
    reply = bot.ask("When did the board approve the merger with the northern savings bank?")
    assert "Board minutes" not in str(reply.body) and "March" not in str(reply.body)
    bob, alice = bot.records("ask")
    assert bob["user"] == "bob" and alice["user"] == "alice"
    assert bot.library.doc_ids["policy"] not in {c["doc_id"] for c in bob["retrieved"]}
    assert bot.library.doc_ids["board"] not in {c["doc_id"] for c in alice["retrieved"]}


def test_a_follow_up_is_asked_with_the_conversations_earlier_turns(
    bot: Bot, fake_generator: FakeGenerator
) -> None:
    bot.ask(LTV_QUESTION, conversation="a:1-chat")
    fake_generator.rewrites["And for a second home?"] = LTV_QUESTION
    bot.ask("And for a second home?", conversation="a:1-chat")
    (rewrite,) = fake_generator.rewritten
    asked = rewrite[-1]["content"]
    assert LTV_QUESTION in asked and "70 percent" in asked
    first, second = bot.records("ask")
    assert first["conversation_id"] == second["conversation_id"] == "a:1-chat"
    assert second["standalone_question"] == LTV_QUESTION
    # Another conversation, and a colleague in the same one, start without that history.
    bot.ask("And for a second home?", conversation="a:2-chat")
    bot.ask("And for a second home?", conversation="a:1-chat", user=BOB)
    assert len(fake_generator.rewritten) == 1


class _Failing(FakeGenerator):
    """The answer model failing as it starts to answer."""

    def stream(self, messages: list[dict[str, str]], config: GenerationConfig):  # type: ignore[override]
        if config.purpose is Purpose.ANSWER:
            raise GenerationError("the answer model crashed; see the server log")
        yield from super().stream(messages, config)


def test_a_failed_answer_is_said_so(
    tmp_path: Path, key: SigningKey, connector: FakeConnector
) -> None:
    with running_bot(tmp_path, key, connector, _Failing([LTV_ANSWER])) as bot:
        reply = bot.ask(LTV_QUESTION)
        assert reply.body["text"] == ("Coffre could not answer this time: the answer model "
                                      "crashed; see the server log")
        assert bot.records("ask") == []  # no answer was given, none is on the record


class _Held(FakeGenerator):
    """An answer model that waits, in its worker thread, until released."""

    def __init__(self, pieces: Sequence[str]) -> None:
        super().__init__(pieces)
        self.started = threading.Event()
        self.release = threading.Event()

    def stream(self, messages: list[dict[str, str]], config: GenerationConfig):  # type: ignore[override]
        if config.purpose is Purpose.ANSWER:
            self.started.set()
            assert self.release.wait(10)
        yield from super().stream(messages, config)


def test_the_post_is_acknowledged_and_the_loop_stays_free_while_the_answer_is_worked_out(
    tmp_path: Path, key: SigningKey, connector: FakeConnector
) -> None:
    held = _Held([LTV_ANSWER])
    with running_bot(tmp_path, key, connector, held) as bot:
        response = bot.post(_message(bot, LTV_QUESTION))
        assert response.status_code == 202
        assert held.started.wait(10)
        # The model is busy in a worker thread; the app still serves other requests.
        assert bot.http.get("/healthz").status_code == 200
        assert bot.connector.sent("message") == []
        held.release.set()
        bot.connector.wait_for(1)


def _message(bot: Bot, text: str) -> dict[str, object]:
    return message(text, bot.connector.url)


def test_an_answer_cut_short_by_shutdown_is_audited_as_interrupted(
    tmp_path: Path, key: SigningKey, connector: FakeConnector
) -> None:
    held = _Held([LTV_ANSWER])
    with running_bot(tmp_path, key, connector, held) as bot:
        assert bot.post(_message(bot, LTV_QUESTION)).status_code == 202
        assert held.started.wait(10)
        threading.Timer(0.5, held.release.set).start()
        bot.http.__exit__(None, None, None)  # the app stops: its replies are cancelled
        (record,) = bot.records("ask")
        assert record["interrupted"] is True and record["sent"] == ""
        assert bot.connector.sent("message") == []


def test_memory_keeps_the_newest_turns_of_the_most_recent_threads() -> None:
    memory = ConversationMemory(max_turns=4, max_conversations=2)
    one, two, three = (Thread(f"a:{n}", "alice") for n in range(3))
    for n in range(3):
        memory.remember(one, f"question {n}", f"answer {n}")
    assert memory.history(one) == (Turn(Speaker.USER, "question 1"),
                                   Turn(Speaker.ASSISTANT, "answer 1"),
                                   Turn(Speaker.USER, "question 2"),
                                   Turn(Speaker.ASSISTANT, "answer 2"))
    memory.remember(two, "q", "a")
    memory.history(one)  # one is now the most recently used
    memory.remember(three, "q", "a")
    assert len(memory) == 2 and memory.history(two) == ()
    assert len(memory.history(one)) == 4
    assert memory.history(Thread("a:0", "bob")) == ()  # a colleague's thread is their own


def test_the_link_in_a_card_is_the_passage_view_of_this_server(bot: Bot) -> None:
    reply = bot.ask(LTV_QUESTION)
    url = card_of(reply)["body"][2]["selectAction"]["url"]
    parsed = httpx.URL(url)
    assert (parsed.scheme, parsed.host, parsed.path) == (
        "https", "coffre.bank.example", f"/passage/{bot.library.chunk_ids['policy']}")
    citation = bot.records("ask")[0]["cited"][0]
    assert dict(parsed.params) == {"start": str(citation["start"]), "end": str(citation["end"])}
