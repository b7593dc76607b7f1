"""/v1/ask latency against a bare llama-cpp-python call on the same final prompt, one run.

Ingests the demo corpus into a throwaway data directory, serves the real app on loopback,
and for each answerable demo question measures, over HTTP with streaming, the time to the
first token and the total time; then gives the exact prompt Coffre built to a separately
loaded bare `Llama` with the same settings and measures the same two times. Prints medians
and ratios (goal: within 10% of the bare call).

    .venv/bin/python bench/ask_latency.py [--questions N]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from demo_kit import demo_questions, demo_services, serve
from llama_cpp import Llama

from api.wiring import llm_path
from rag.generation import GenerationConfig
from rag.prompt import build_prompt


def _http_ask(url: str, key: str, question: str) -> tuple[float, float]:
    started = time.perf_counter()
    first = 0.0
    with httpx.stream("POST", f"{url}/v1/ask", json={"question": question, "stream": True},
                      headers={"authorization": f"Bearer {key}"}, timeout=600) as response:
        for line in response.iter_lines():
            if line.startswith("event: draft") and not first:
                first = time.perf_counter() - started
    return first, time.perf_counter() - started


def _bare(
    llm: Llama, messages: list[dict[str, str]], config: GenerationConfig
) -> tuple[float, float]:
    started = time.perf_counter()
    first = 0.0
    llm.reset()
    for piece in llm.create_chat_completion(
        # The same sampling settings Coffre's generator passes, read from the same config.
        messages=messages, stream=True, max_tokens=config.max_tokens,  # type: ignore[arg-type]
        temperature=config.temperature, top_p=config.top_p,
        repeat_penalty=config.repeat_penalty, seed=config.seed,
    ):
        if piece["choices"][0]["delta"].get("content") and not first:  # type: ignore[index,union-attr]
            first = time.perf_counter() - started
    return first, time.perf_counter() - started


def main() -> None:
    """Run the measurement and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=int, default=10)
    args = parser.parse_args()
    questions = demo_questions()[: args.questions]
    with tempfile.TemporaryDirectory() as tmp:
        services = demo_services(Path(tmp))
        settings = services.settings
        key, _ = services.keys.create("bench", ["staff"], "employee")
        server, url = serve(services)
        generator = services.generator
        model_file = llm_path(settings)  # the answer model loads lazily: its file, here
        bare = Llama(model_path=str(model_file), n_ctx=settings.context_size,
                     n_threads=settings.threads, n_gpu_layers=settings.gpu_layers, verbose=False)
        rows = []
        for question in questions:
            api_first, api_total = _http_ask(url, key, question)
            hits = services.searcher.search(question, services.answerer.config.top_k).hits
            prompt = build_prompt(question, hits,
                                  budget_tokens=generator.context_size - settings.max_answer_tokens,
                                  count_tokens=generator.count_tokens)
            bare_first, bare_total = _bare(bare, prompt.messages,
                                           services.answerer.config.generation)
            rows.append((api_first, api_total, bare_first, bare_total))
        server.should_exit = True
        services.close()
    api_first, api_total, bare_first, bare_total = (
        statistics.median(c) for c in zip(*rows, strict=True)
    )
    print(f"{len(rows)} questions, model {model_file.name}, "
          f"{settings.threads} threads")
    print(f"time to first token: /v1/ask {api_first:.3f} s, bare {bare_first:.3f} s, "
          f"ratio {api_first / bare_first:.3f}")
    print(f"total time:          /v1/ask {api_total:.3f} s, bare {bare_total:.3f} s, "
          f"ratio {api_total / bare_total:.3f}")


if __name__ == "__main__":
    main()
