"""A streaming client that goes away frees the model for the next question, over real HTTP.

The real app served by uvicorn, the bundled embedder and the bundled small model
(SmolLM2-135M), FAISS and SQLite: one client opens a streamed answer, reads its first token
and closes the socket; another client's question must then get its first token within twice
its normal time, and the interrupted answer is on the audit trail with what was sent.
"""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Iterator

import httpx
import pytest

from api.settings import load_settings
from api.wiring import Services, build_services
from rag.generation import default_llm_path
from tests.integration.conftest import DEMO_CORPUS, serving

pytestmark = pytest.mark.integration

ABANDONED = "How long is a property valuation report valid for?"
NEXT = "When do the new wire cut-off times take effect?"


@pytest.fixture(scope="module")
def small_model_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str,
                                                                                     Services]]:
    data_dir = tmp_path_factory.mktemp("coffre-disconnect")
    # Long answers, so that an abandoned stream would hold the model for a long time.
    settings = load_settings(data_dir=data_dir, threads=2, llm_model=default_llm_path(),
                             max_answer_tokens=1024, answer_check=False,
                             query_translation=False)
    services = build_services(settings)
    report = services.ingester.run([DEMO_CORPUS / "retail-credit-policy.pdf",
                                    DEMO_CORPUS / "wire-cutoff-change.eml"])
    assert report.count("failed") == 0
    key, _ = services.keys.create("bob", ["staff"], "employee")
    with serving(services) as url:
        yield url, key, services
    services.close()


def first_token_seconds(url: str, key: str, question: str, timeout: float) -> float:
    """Seconds from sending a streamed question to its first token event (read to the end).

    `timeout` bounds the wait for that first token in all: the server's keep-alive pings
    every 15 s would defeat a read timeout.
    """
    started = time.perf_counter()
    first = None
    with httpx.Client(base_url=url, timeout=timeout,
                      headers={"authorization": f"Bearer {key}"}) as http, \
            http.stream("POST", "/v1/ask", json={"question": question, "stream": True}) as r:
        assert r.status_code == 200
        for line in r.iter_lines():
            waited = time.perf_counter() - started
            if first is None and waited > timeout:
                pytest.fail(f"no first token after {waited:.0f} s: the model is still held")
            if line.startswith("event: draft") and first is None:
                first = waited
    assert first is not None, "no draft event"
    return first


def drop_then_ask(url: str, key: str, normal: float) -> tuple[str, float]:
    """Read one token of a streamed answer, close the socket, then time the next question."""
    sent = ""
    with httpx.Client(base_url=url, timeout=120,
                      headers={"authorization": f"Bearer {key}"}) as dropping, \
            dropping.stream("POST", "/v1/ask",
                            json={"question": ABANDONED, "stream": True}) as response:
        for line in response.iter_lines():
            if line.startswith("data:"):
                sent = json.loads(line.split(":", 1)[1])["text"]
                break
    # Leaving both `with` blocks closed the socket while the answer was still generating;
    # before the fix the next question waited on the abandoned answer's model lock.
    return sent, first_token_seconds(url, key, NEXT, timeout=max(30.0, 10 * normal))


def test_a_client_that_drops_its_stream_does_not_block_the_next_question(
    small_model_server: tuple[str, str, Services],
) -> None:
    url, key, services = small_model_server
    first_token_seconds(url, key, NEXT, timeout=120)  # warm: model loaded, caches filled
    normal = max(first_token_seconds(url, key, NEXT, timeout=120) for _ in range(2))
    # An idle server may never run the cyclic garbage collector: the model must be freed
    # without it, so it stays off while the stream is dropped and the next question asked.
    gc.disable()
    try:
        sent, after = drop_then_ask(url, key, normal)
    finally:
        gc.enable()
    assert sent
    assert after <= 2 * normal + 0.5, (after, normal)

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        records = services.audit.search(None, None, None, ABANDONED, None, 10)
        interrupted = [r.body for r in records if r.body.get("interrupted")]
        if interrupted:
            break
        time.sleep(0.1)
    assert interrupted, "no audit record of the interrupted answer"
    assert interrupted[0]["question"] == ABANDONED
    assert interrupted[0]["sent"].startswith(sent)
    assert interrupted[0]["channel"] == "http"
