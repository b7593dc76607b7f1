"""The real `openai` client against the real server (uvicorn, the default answer model, the
demo corpus): what a chat front end speaking the OpenAI API gets from Coffre."""

from __future__ import annotations

import re
from typing import Any

import httpx
import openai
import pytest

from api.wiring import Services

pytestmark = pytest.mark.integration

QUESTION = "How long is a property valuation report valid for?"
POLICY = "retail-credit-policy.pdf"


@pytest.fixture(scope="module")
def coffre(server_url: str, employee_key: str) -> openai.OpenAI:
    """The client as a front end configures it: base URL .../v1, a Coffre key as API key."""
    # No retries: a failure must show, not be hidden by a second try.
    return openai.OpenAI(base_url=f"{server_url}/v1", api_key=employee_key, timeout=300,
                         max_retries=0)


def _cited_files(details: dict[str, Any]) -> set[tuple[str, int | None]]:
    return {(c["source_path"].rsplit("/", 1)[-1], c["page"]) for c in details["citations"]}


def _openai_asks(services: Services, question: str) -> list[dict[str, Any]]:
    return [r.body for r in services.audit.records()
            if r.body["kind"] == "ask" and r.body["channel"] == "openai"
            and r.body["question"] == question]


def test_a_completion_answers_from_the_right_document_with_its_sources(
    coffre: openai.OpenAI, demo_services: Services, server_url: str
) -> None:
    completion = coffre.chat.completions.create(model="coffre", messages=[
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": QUESTION}])
    [choice] = completion.choices
    content = choice.message.content or ""
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    details = (completion.model_extra or {})["coffre"]
    assert not details["refused"], content
    assert (POLICY, 4) in _cited_files(details), details["citations"]
    assert "\n\nSources:\n- [" in content and ", page 4" in content
    # Each [n] marker links to its passage in the on-premise passage view.
    notes = choice.message.annotations or []
    assert notes and all(n.type == "url_citation" for n in notes)
    for note in notes:
        cited = note.url_citation
        assert re.fullmatch(r"\[\d+(, \d+)*\]", content[cited.start_index:cited.end_index])
        # The address the request came to (COFFRE_PUBLIC_URL is not set): the link opens.
        assert cited.url.startswith(f"{server_url}/passage/")
        assert httpx.get(cited.url, timeout=30).status_code == 200
    assert any(POLICY.split(".")[0].replace("-", " ") in n.url_citation.title.lower()
               or ", page 4" in n.url_citation.title for n in notes), notes
    assert completion.usage is not None and completion.usage.completion_tokens > 0
    assert completion.usage.total_tokens == (completion.usage.prompt_tokens
                                             + completion.usage.completion_tokens)
    [record] = _openai_asks(demo_services, QUESTION)
    assert record["user"] == "alice" and not record["refused"]
    assert any(c["document"].endswith(POLICY) for c in record["cited"])


def test_a_streamed_completion_sends_checked_sentences_then_usage(
    coffre: openai.OpenAI,
) -> None:
    stream = coffre.chat.completions.create(
        model="coffre", stream=True, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": [{"type": "text", "text": QUESTION}]}])
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    finish = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finish[-1] == "stop" and set(finish[:-1]) == {None}
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None and last.usage.completion_tokens > 0
    details = (last.model_extra or {})["coffre"]
    assert not details["refused"], content
    assert (POLICY, 4) in _cited_files(details) and "Sources:" in content
    # The sources' chunk carries every marker's url_citation, for the content as a whole.
    [notes] = [(c.choices[0].delta.model_extra or {}).get("annotations") for c in chunks
               if c.choices and "Sources:" in (c.choices[0].delta.content or "")]
    assert notes and all(content[n["url_citation"]["start_index"]:
                                 n["url_citation"]["end_index"]].startswith("[") for n in notes)


def test_a_question_the_documents_do_not_answer_is_refused_plainly(
    coffre: openai.OpenAI,
) -> None:
    question = "What is the annual fee for the Northbridge Platinum credit card?"
    completion = coffre.chat.completions.create(
        model="coffre", messages=[{"role": "user", "content": question}])
    content = completion.choices[0].message.content or ""
    details = (completion.model_extra or {})["coffre"]
    assert details["refused"] and details["citations"] == [], content
    assert content.startswith("I don't know") and "Sources:" not in content
    assert not completion.choices[0].message.annotations


def test_a_follow_up_is_answered_for_what_it_asks_in_its_conversation(
    coffre: openai.OpenAI, demo_services: Services
) -> None:
    first = "What is the hotel cap per night in Paris?"
    opening = coffre.chat.completions.create(
        model="coffre", messages=[{"role": "user", "content": first}])
    said = opening.choices[0].message.content or ""
    assert "210" in said, said
    follow_up = coffre.chat.completions.create(model="coffre", messages=[
        {"role": "user", "content": first}, {"role": "assistant", "content": said},
        {"role": "user", "content": "And in London?"}])
    content = follow_up.choices[0].message.content or ""
    details = (follow_up.model_extra or {})["coffre"]
    assert not details["refused"], content
    assert "London" in (details["standalone_question"] or ""), details
    assert "220" in content and "210" not in content.split("Sources:")[0], content
    [record] = _openai_asks(demo_services, "And in London?")
    assert "London" in record["standalone_question"]


def test_models_lists_coffre(coffre: openai.OpenAI) -> None:
    assert [m.id for m in coffre.models.list()] == ["coffre"]


def test_a_bad_key_is_an_authentication_error(server_url: str) -> None:
    stranger = openai.OpenAI(base_url=f"{server_url}/v1", api_key="cof_nope_nope",
                             max_retries=0, timeout=60)
    with pytest.raises(openai.AuthenticationError) as raised:
        stranger.chat.completions.create(model="coffre",
                                         messages=[{"role": "user", "content": QUESTION}])
    assert raised.value.status_code == 401 and raised.value.code == "invalid_api_key"
    with pytest.raises(openai.AuthenticationError):
        stranger.models.list()
