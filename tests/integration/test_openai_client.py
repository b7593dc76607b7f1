"""The real `openai` client against the real server (uvicorn, the default answer model, the
demo corpus): what a chat front end speaking the OpenAI API gets from Coffre."""

from __future__ import annotations

from typing import Any

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
    coffre: openai.OpenAI, demo_services: Services
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
