"""A paused answer goes on as if it had never stopped, with the real bundled model.

The answering core pauses generation at the first verified sentence to ask the model whether
the cited passages answer the question, then continues the reply from the text written so
far. At temperature 0 the continued answer must be the uninterrupted one, and going on must
not evaluate the prompt again (the paused context is kept).
"""

from __future__ import annotations

import time

from rag.generation import GenerationConfig, LlamaCppGenerator, Purpose, continued, default_llm_path

PASSAGE = ("[1] Retail Credit Policy, page 3\nThe maximum loan-to-value for a buy-to-let "
           "mortgage is 70 percent of the valuation. Valuation reports are valid for six "
           "months. Interest-only loans need a repayment plan.")
MESSAGES = [
    {"role": "system", "content": "Answer from the numbered sources only, citing them as [n]."},
    {"role": "user", "content": f"{PASSAGE}\n\nQuestion: What are the rules for buy-to-let "
                                "mortgages? Answer in three sentences."},
]
ANSWER = GenerationConfig(max_tokens=64)
CHECK = GenerationConfig(max_tokens=3, purpose=Purpose.CHECK)


def test_a_paused_answer_continues_where_it_stopped_without_reading_its_prompt_again() -> None:
    model = LlamaCppGenerator(default_llm_path(), context_size=2048, threads=2)
    whole = "".join(model.stream(MESSAGES, ANSWER))
    assert len(whole) > 40, whole

    stream = model.stream(MESSAGES, ANSWER)
    pieces = [next(stream) for _ in range(12)]
    stream.close()
    verdict = "".join(model.stream([{"role": "user", "content": "Is water wet? yes or no"}],
                                   CHECK))
    assert verdict.strip()
    began = time.perf_counter()
    rest = model.stream(continued(MESSAGES, "".join(pieces)), ANSWER)
    first = next(rest)
    resumed_s = time.perf_counter() - began
    text = "".join(pieces) + first + "".join(rest)
    assert text == whole

    model.load().reset()  # the same continuation with no kept context reads its prompt
    model._paused = None
    began = time.perf_counter()
    cold = model.stream(continued(MESSAGES, "".join(pieces)), ANSWER)
    next(cold)
    cold_s = time.perf_counter() - began
    cold.close()
    assert resumed_s < cold_s, (resumed_s, cold_s)
