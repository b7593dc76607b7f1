"""What the in-process model keeps of llama.cpp's context between requests.

Evaluating a prompt is most of an answer's time to first token on a CPU. Two things are kept
so that work is not done twice:

- **The prompt's fixed start** (`PromptPrefix`): every answer prompt opens with the same
  instructions. They are evaluated once and their context kept; an answer prompt that
  starts with them loads that context, and llama.cpp evaluates only what follows.
- **A paused answer** (`continue_reply`): generation pauses at the first verified sentence
  while the model judges its passages; the answer's context is kept and it goes on from
  there, its repeat penalty primed as if it had never stopped.

What is kept survives the other requests (checks, translations) evaluated in between. Other
requests start from an empty context, as answers without the cache do: a prompt evaluated
over whatever the last request left would get an answer that depends on it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rag.errors import GenerationError

if TYPE_CHECKING:
    from llama_cpp import Llama

# Below this many shared tokens, keeping a context costs more than evaluating them again.
MIN_PREFIX_TOKENS = 32


def chat_prompt(llm: Llama, messages: list[dict[str, str]]) -> tuple[str, bool, list[str]]:
    """The chat as the model's own template writes it, the assistant's turn opened; whether
    a BOS token must go first; and the template's stop strings."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    template = llm.metadata.get("tokenizer.chat_template")
    if template is None:
        raise GenerationError("the model file has no chat template (tokenizer.chat_template):"
                              " use a GGUF file with one")
    formatted = Jinja2ChatFormatter(
        template=template, eos_token=_token_text(llm, llm.token_eos()),
        bos_token=_token_text(llm, llm.token_bos()),
    )(messages=messages)  # type: ignore[arg-type]
    stop = formatted.stop if isinstance(formatted.stop, list) else [formatted.stop]
    return formatted.prompt, not formatted.added_special, [s for s in stop if s]


def chat_tokens(llm: Llama, messages: list[dict[str, str]]) -> list[int]:
    """`chat_prompt` in the model's tokens, as llama-cpp-python's chat completion reads it."""
    prompt, bos, _ = chat_prompt(llm, messages)
    return llm.tokenize(prompt.encode("utf-8"), add_bos=bos, special=True)


def shared_prefix(one: list[int], other: list[int]) -> int:
    """How many tokens two sequences share from their start."""
    count = 0
    for a, b in zip(one, other, strict=False):
        if a != b:
            break
        count += 1
    return count


def fixed_start(llm: Llama, messages: list[dict[str, str]]) -> list[int]:
    """The tokens every prompt with these earlier messages shares, whatever its last
    message says: the template's rendering of the instructions and the last turn's header."""
    head = messages[:-1]
    one = chat_tokens(llm, [*head, {"role": messages[-1]["role"], "content": "\x01"}])
    other = chat_tokens(llm, [*head, {"role": messages[-1]["role"], "content": "\x02"}])
    return one[:shared_prefix(one, other)]


class PromptPrefix:
    """The fixed start of answer prompts, evaluated once and kept (one at a time)."""

    def __init__(self, minimum: int = MIN_PREFIX_TOKENS) -> None:
        self.minimum = minimum
        self._kept: tuple[list[int], Any] | None = None  # tokens, llama_cpp.LlamaState
        self.hits = 0

    def prepare(self, llm: Llama, messages: list[dict[str, str]]) -> int:
        """Put the context in a state from which the prompt's fixed start need not be
        evaluated again; the number of its tokens kept (0: none were)."""
        start = fixed_start(llm, messages)
        if len(start) < self.minimum:
            llm.reset()
            return 0
        # Always from the kept start, even when the context holds more of this prompt: every
        # answer prompt is then evaluated the same way (the start, then the rest in one
        # batch), and the same question gets the same answer whatever ran before it.
        if self._kept is not None and self._kept[0] == start:
            restore(llm, self._kept[1])
            self.hits += 1
            return len(start)
        llm.reset()
        llm.eval(start)
        self._kept = (start, llm.save_state())
        return 0


def continue_reply(
    llm: Llama, messages: list[dict[str, str]], paused: Any, max_tokens: int,
    sampling: dict[str, Any],
) -> Any:
    """llama-cpp-python's completion stream going on with the reply begun in the last
    message, from the paused answer's context when there is one."""
    reply = messages[-1]["content"]
    text, bos, stop = chat_prompt(llm, messages[:-1])
    head = llm.tokenize(text.encode("utf-8"), add_bos=bos, special=True)
    prompt = llm.tokenize((text + reply).encode("utf-8"), add_bos=bos, special=True)
    _prime_repeat_penalty(llm, prompt[len(head):] if prompt[:len(head)] == head else
                          llm.tokenize(reply.encode("utf-8"), add_bos=False))
    if paused is not None:
        restore(llm, paused)
    else:
        llm.reset()
    return llm.create_completion(prompt=prompt, stream=True, stop=stop,
                                 **{**sampling, "max_tokens": max_tokens})


def restore(llm: Llama, state: Any) -> None:
    """Load a kept context into an emptied cache: restored over what other requests left,
    its cells could be laid out apart, and the answer would differ in its last digits."""
    llm._ctx.kv_cache_clear()
    llm.load_state(state)


def _prime_repeat_penalty(llm: Llama, reply: list[int]) -> None:
    """Make the next generation penalise repeats of the reply so far, as the stream that
    wrote it did: llama.cpp's repeat penalty counts only the tokens sampled in the same
    call, so a continued answer would otherwise differ from the one never paused."""
    make = type(llm)._init_sampler

    def primed(*args: Any, **kwargs: Any) -> Any:
        sampler = make(llm, *args, **kwargs)
        for token in reply[-llm.last_n_tokens_size:]:
            sampler.accept(token)
        return sampler

    llm._init_sampler = primed  # type: ignore[method-assign]  # until the stream ends


def forget_priming(llm: Llama) -> None:
    """Back to llama-cpp-python's own sampler once the continued stream ended."""
    llm.__dict__.pop("_init_sampler", None)


def _token_text(llm: Llama, token: int) -> str:
    """A special token's text, as llama-cpp-python gives it to chat templates."""
    return llm._model.token_get_text(token) if token != -1 else ""
