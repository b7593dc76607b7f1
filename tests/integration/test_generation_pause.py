"""A paused answer goes on as if it had never stopped, with the real bundled model.

The answering core pauses generation at the first verified sentence to ask the model whether
the cited passages answer the question, then continues the reply from the text written so
far. At temperature 0 the continued answer must be the uninterrupted one, and going on must
not evaluate the prompt again (the paused context is kept).
"""

from __future__ import annotations

from collections.abc import Sequence

from rag.generation import GenerationConfig, LlamaCppGenerator, Purpose, continued, default_llm_path
from rag.llama_context import chat_tokens, fixed_start
from rag.prompt import SYSTEM_PROMPT

PASSAGE = ("[1] Retail Credit Policy, page 3\nThe maximum loan-to-value for a buy-to-let "
           "mortgage is 70 percent of the valuation. Valuation reports are valid for six "
           "months. Interest-only loans need a repayment plan.")
MESSAGES = [
    {"role": "system", "content": SYSTEM_PROMPT},  # the answer prompt's fixed start
    {"role": "user", "content": f"{PASSAGE}\n\nQuestion: What are the rules for buy-to-let "
                                "mortgages? Answer in three sentences."},
]
ANSWER = GenerationConfig(max_tokens=64)
CHECK = GenerationConfig(max_tokens=3, purpose=Purpose.CHECK)


def _counting(model: LlamaCppGenerator) -> list[int]:
    """Record how many tokens each llama.cpp evaluation of the model's context takes."""
    llm = model.load()
    counts: list[int] = []
    evaluate = llm.eval

    def counted(tokens: Sequence[int]) -> None:
        counts.append(len(tokens))
        evaluate(tokens)

    llm.eval = counted  # type: ignore[method-assign]
    return counts


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
    counts = _counting(model)
    rest = "".join(model.stream(continued(MESSAGES, "".join(pieces)), ANSWER))
    assert "".join(pieces) + rest == whole  # as if it had never paused
    prompt = model.count_tokens(PASSAGE)
    # Going on evaluated a token or two of the reply, then one per token generated: never
    # the prompt again.
    assert counts[0] <= 3 < prompt, counts


def test_the_kept_fixed_start_is_not_evaluated_again_and_answers_do_not_depend_on_it() -> None:
    cached = LlamaCppGenerator(default_llm_path(), context_size=2048, threads=2)
    other = [MESSAGES[0], {"role": "user", "content": f"{PASSAGE}\n\nQuestion: How long is "
                                                       "a valuation report valid?"}]
    "".join(cached.stream(MESSAGES, ANSWER))
    "".join(cached.stream([{"role": "user", "content": "Is water wet? yes or no"}], CHECK))
    counts = _counting(cached)
    second = "".join(cached.stream(other, ANSWER))
    assert cached.prompt_cache is not None and cached.prompt_cache.hits == 1
    llm = cached.load()
    full, start = len(chat_tokens(llm, other)), len(fixed_start(llm, other))
    # The second prompt was evaluated without its instructions' tokens.
    assert start >= 32 and counts[0] == full - start, (counts, full, start)
    # The same question asked first, to a fresh model, gets the same answer.
    fresh = LlamaCppGenerator(default_llm_path(), context_size=2048, threads=2)
    assert "".join(fresh.stream(other, ANSWER)) == second
