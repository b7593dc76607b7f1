"""Time to first token with and without the kept prompt start (COFFRE_PROMPT_CACHE).

Every answer prompt opens with the same instructions; with the cache they are evaluated
once and their llama.cpp context kept. Ingests the demo corpus into a throwaway data
directory, builds the answer prompts of `--questions` demo questions (real retrieval), and
streams each to its first token with the configured answer model, once through a generator
with the cache and once through one without, alternating, with an answer check prompt in
between (as in an answer). Prints the median time to first token of each and their ratio.

    .venv/bin/python bench/prompt_cache.py [--questions 6]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from demo_kit import demo_questions, demo_services

from api.wiring import local_generator
from rag.generation import GenerationConfig, LlamaCppGenerator, Purpose, closing_stream
from rag.prompt import build_prompt, check_messages

ANSWER = GenerationConfig(max_tokens=8)
CHECK = GenerationConfig(max_tokens=3, purpose=Purpose.CHECK)


def first_token_s(model: LlamaCppGenerator, messages: list[dict[str, str]]) -> float:
    """Seconds to the first piece of an answer (the stream closed right after)."""
    started = time.perf_counter()
    with closing_stream(model.stream(messages, ANSWER)) as pieces:
        next(pieces)
        return time.perf_counter() - started


def main() -> None:
    """Run the measurement and print the result lines."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--questions", type=int, default=6)
    args = parser.parse_args()
    questions = demo_questions()[:args.questions]
    with tempfile.TemporaryDirectory() as tmp:
        services = demo_services(Path(tmp))
        settings = services.settings
        models = {"with": local_generator(settings.model_copy(update={"prompt_cache": True})),
                  "without": local_generator(settings.model_copy(
                      update={"prompt_cache": False}))}
        prompts = []
        for question in questions:
            hits = services.searcher.search(question, settings.top_k, None, None).hits
            prompt = build_prompt(question, hits, budget_tokens=settings.context_size - 256,
                                  count_tokens=models["with"].count_tokens)
            prompts.append((prompt.messages, check_messages(question, [hits[0].stored.chunk.text])))
        for model in models.values():  # loaded, and the cache's start kept, before timing
            first_token_s(model, prompts[0][0])
        times: dict[str, list[float]] = {name: [] for name in models}
        for messages, check in prompts:
            for name, model in models.items():
                "".join(model.stream(check, CHECK))  # what an answer runs in between
                times[name].append(first_token_s(model, messages))
            print(f"TTFT with {times['with'][-1]:6.2f} s  without {times['without'][-1]:6.2f} s"
                  f"  ({model.count_tokens(messages[-1]['content'])} tokens of question and "
                  "passages)")
        services.close()
    kept = models["with"].prompt_cache
    with_s, without_s = (statistics.median(times[n]) for n in ("with", "without"))
    print(f"model: {models['with'].model_id}; kept start reused {kept.hits if kept else 0} times")
    print(f"median TTFT with the kept start {with_s:.2f} s, without {without_s:.2f} s; "
          f"ratio {with_s / without_s:.2f}")


if __name__ == "__main__":
    main()
