"""The in-process generator holds the model only while its stream runs, and waits boundedly.

llama-cpp-python's `Llama` is replaced by a stand-in with the same streaming shape, so the
lock, the close and the deadline of the real `LlamaCppGenerator` are what is tested.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import aclosing
from pathlib import Path
from typing import ClassVar

import anyio
import pytest

from api.streaming import off_the_loop
from indexes.library import DocumentIndex
from rag.answering import AnswerConfig, Answerer
from rag.answers import DraftText, Finished, Query, Retrieved
from rag.citations import CitationBuilder
from rag.generation import (
    GenerationConfig,
    LlamaCppGenerator,
    ModelBusyError,
    Purpose,
    continued,
)
from rag.retrieval import RetrievalConfig, Retriever
from rag.search import Searcher
from tests.unit.fakes import FakeEmbedder, MakeItem

MESSAGES = [{"role": "user", "content": "Question?"}]


class _Sampler:
    def __init__(self, accepted: list[int]) -> None:
        self.accepted = accepted

    def accept(self, token: int) -> None:
        self.accepted.append(token)


class _Context:
    def __init__(self, states: list[str]) -> None:
        self.states = states

    def kv_cache_clear(self) -> None:
        self.states.append("cleared")


class _Vocabulary:
    def token_get_text(self, token: int) -> str:
        return {1: "<s>", 2: "</s>"}[token]


class StandInLlama:
    """Streams `pieces` like `Llama.create_chat_completion(stream=True)` and continues a
    reply like `create_completion`; records closes, saved and loaded states, prompts."""

    metadata: ClassVar[dict[str, str]] = {"tokenizer.chat_template": (
        "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{{ eos_token }}{% endfor %}"
        "<|assistant|>")}
    _model: ClassVar[_Vocabulary] = _Vocabulary()
    last_n_tokens_size = 64

    def __init__(self, pieces: list[str]) -> None:
        self.pieces = pieces
        self.produced = 0
        self.closed = 0
        self.states: list[str] = []  # "saved" / "loaded" / "reset", in order
        self.prompts: list[list[int]] = []
        self.primed: list[int] = []  # tokens the repeat penalty of a continuation counts
        self.input_ids: list[int] = []  # what the context holds, as llama-cpp-python's
        self.n_tokens = 0
        self.evaluated: list[list[int]] = []
        self._ctx = _Context(self.states)

    def reset(self) -> None:
        self.states.append("reset")
        self.input_ids, self.n_tokens = [], 0

    def eval(self, tokens: list[int]) -> None:
        self.evaluated.append(list(tokens))
        self.input_ids = [*self.input_ids[:self.n_tokens], *tokens]
        self.n_tokens = len(self.input_ids)

    def save_state(self) -> str:
        self.states.append("saved")
        return f"state after {self.produced}"

    def load_state(self, state: str) -> None:
        self.states.append(f"loaded {state}")

    def token_eos(self) -> int:
        return 2

    def token_bos(self) -> int:
        return 1

    def tokenize(self, text: bytes, add_bos: bool = False, special: bool = False) -> list[int]:
        return [len(word) for word in text.split()]  # one token a word, as the fakes count

    def create_chat_completion(self, **_: object) -> Iterator[dict[str, object]]:
        try:
            for piece in self.pieces:
                self.produced += 1
                yield {"choices": [{"delta": {"content": piece}}]}
        finally:
            self.closed += 1

    def _init_sampler(self, **_: object) -> _Sampler:
        return _Sampler(self.primed)

    def create_completion(self, prompt: list[int], **_: object) -> Iterator[dict[str, object]]:
        self.prompts.append(prompt)
        self._init_sampler()  # as Llama.generate makes its sampler
        for piece in self.pieces[self.produced:]:
            self.produced += 1
            yield {"choices": [{"text": piece}]}


def generator(tmp_path: Path, pieces: list[str], wait_s: float = 5.0) -> LlamaCppGenerator:
    path = tmp_path / "model.gguf"
    path.write_bytes(b"GGUF" + bytes(16))
    made = LlamaCppGenerator(path, wait_s=wait_s)
    made._llm = StandInLlama(pieces)  # type: ignore[assignment]
    return made


def test_closing_a_stream_mid_answer_frees_the_model_and_stops_generation(
    tmp_path: Path,
) -> None:
    model = generator(tmp_path, [f"w{i} " for i in range(100)])
    stream = model.stream(MESSAGES, GenerationConfig())
    assert next(stream) == "w0 "
    assert model.lock.locked()
    stream.close()
    assert not model.lock.locked()
    llama: StandInLlama = model._llm  # type: ignore[assignment]
    assert llama.closed == 1 and llama.produced == 1


def test_a_paused_answer_goes_on_from_its_saved_context(tmp_path: Path) -> None:
    model = generator(tmp_path, ["The fee ", "is five ", "euros."])
    answer = GenerationConfig()
    stream = model.stream(MESSAGES, answer)
    assert next(stream) == "The fee "
    stream.close()  # paused: the context of the answer so far is kept
    check = GenerationConfig(max_tokens=3, purpose=Purpose.CHECK)
    # Another request in between (the answer check) changes the context, not the kept one.
    assert list(model.stream(MESSAGES, check)) == ["The fee ", "is five ", "euros."]
    llama: StandInLlama = model._llm  # type: ignore[assignment]
    llama.produced = 1  # the stand-in goes on where the paused answer stopped
    rest = list(model.stream(continued(MESSAGES, "The fee "), answer))
    assert rest == ["is five ", "euros."]
    # Paused: its context saved; loaded again to go on, whatever ran in between.
    assert llama.states == ["reset", "saved", "reset", "cleared", "loaded state after 1"]
    # The prompt: the chat as the model's template writes it, then the reply so far.
    assert llama.prompts[-1] == llama.tokenize(b"<|user|>Question?</s><|assistant|>The fee ")
    # Repeats of the reply so far are penalised as in the stream that wrote it.
    assert llama.primed == llama.tokenize(b"The fee ")
    assert "_init_sampler" not in vars(llama)
    assert not model.lock.locked()


def test_an_answer_without_a_kept_context_is_continued_from_its_text(tmp_path: Path) -> None:
    model = generator(tmp_path, ["The fee ", "is five ", "euros."])
    llama: StandInLlama = model._llm  # type: ignore[assignment]
    llama.produced = 1
    assert list(model.stream(continued(MESSAGES, "The fee "), GenerationConfig())) == [
        "is five ", "euros."]
    assert llama.states == ["reset"]


def test_a_question_waiting_past_the_deadline_is_told_the_model_is_busy(
    tmp_path: Path,
) -> None:
    model = generator(tmp_path, ["a", "b"], wait_s=0.2)
    holder = model.stream(MESSAGES, GenerationConfig())
    next(holder)
    with pytest.raises(ModelBusyError, match="COFFRE_GENERATION_WAIT_S"):
        list(model.stream(MESSAGES, GenerationConfig()))
    holder.close()
    assert list(model.stream(MESSAGES, GenerationConfig())) == ["a", "b"]


def test_an_answer_stream_closed_after_its_first_token_frees_the_model(
    tmp_path: Path, index: DocumentIndex, embedder: FakeEmbedder, item: MakeItem
) -> None:
    index.add([item("Cards", ["The card fee is five euros per month."])])
    model = generator(tmp_path, ["The card fee ", "is five euros ", "per month [1]."])
    searcher = Searcher(Retriever(index, embedder, RetrievalConfig()), None)
    answerer = Answerer(searcher, model,
                        CitationBuilder(embedder.embed_passages, index.similarity),
                        AnswerConfig(top_k=1, min_relevance=0.1, answer_check=False))
    question = Query("What is the card fee?")
    events = answerer.stream(question)
    assert isinstance(next(events), Retrieved)
    assert next(events) == DraftText("The card fee ")
    # A reference cycle (what an exception's traceback makes) keeps the frame alive: only
    # the explicit close may free the model.
    cycle: list[object] = [events]
    cycle.append(cycle)
    events.close()
    assert not model.lock.locked()
    assert [e for e in answerer.stream(question) if isinstance(e, Finished)]
    assert not model.lock.locked()


def test_a_cancelled_async_consumer_closes_the_blocking_stream() -> None:
    closed = threading.Event()

    def tokens() -> Iterator[str]:
        try:
            for i in range(1000):
                yield f"t{i}"
        finally:
            closed.set()

    async def consume_one_then_cancel() -> list[str]:
        seen: list[str] = []
        with anyio.CancelScope() as scope:
            async with aclosing(off_the_loop(tokens())) as stream:
                async for token in stream:
                    seen.append(token)
                    scope.cancel()
                    await anyio.sleep(0)
        return seen

    assert anyio.run(consume_one_then_cancel) == ["t0"]
    assert closed.is_set()



def test_the_blocking_stream_runs_ahead_of_a_slow_consumer() -> None:
    """Each token is not held until the event loop asks for the next one: a busy loop (50
    users' streams, a scraper) used to halve the model's decoding speed."""
    produced: list[int] = []

    def tokens() -> Iterator[str]:
        for i in range(20):
            produced.append(i)
            yield f"t{i}"

    async def read_slowly() -> tuple[list[str], int]:
        seen: list[str] = []
        async with aclosing(off_the_loop(tokens())) as stream:
            async for token in stream:
                seen.append(token)
                if len(seen) == 3:
                    return seen, len(produced)
                await anyio.sleep(0.05)
        return seen, len(produced)

    seen, produced_by_then = anyio.run(read_slowly)
    assert seen == ["t0", "t1", "t2"] and produced_by_then == 20


def test_a_cancelled_consumer_stops_a_slow_stream_within_a_token_or_two() -> None:
    produced: list[int] = []

    def tokens() -> Iterator[str]:
        for i in range(500):
            time.sleep(0.01)  # a token's decoding
            produced.append(i)
            yield f"t{i}"

    async def consume_one_then_leave() -> None:
        async with aclosing(off_the_loop(tokens())) as stream:
            async for _ in stream:
                return

    anyio.run(consume_one_then_leave)
    assert len(produced) <= 3


def test_an_error_inside_the_blocking_stream_reaches_the_consumer() -> None:
    def tokens() -> Iterator[str]:
        yield "t0"
        raise ModelBusyError(5.0)

    async def consume() -> list[str]:
        seen: list[str] = []
        async for token in off_the_loop(tokens()):
            seen.append(token)
        return seen

    with pytest.raises(ModelBusyError, match="stayed busy"):
        anyio.run(consume)


INSTRUCTIONS = " ".join(f"rule{i}" for i in range(40))  # a fixed start of 40 "tokens"


def _asking(question: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": INSTRUCTIONS}, {"role": "user", "content": question}]


def test_the_fixed_start_of_answer_prompts_is_evaluated_once_and_kept(tmp_path: Path) -> None:
    model = generator(tmp_path, ["Five euros."])
    llama: StandInLlama = model._llm  # type: ignore[assignment]
    assert list(model.stream(_asking("What is the fee?"), GenerationConfig())) == ["Five euros."]
    [start] = llama.evaluated  # the instructions, as the template writes them
    assert len(start) >= 40 and llama.states == ["reset", "saved"]
    # A check evaluated in between leaves other tokens in the context...
    list(model.stream(MESSAGES, GenerationConfig(max_tokens=3, purpose=Purpose.CHECK)))
    llama.input_ids, llama.n_tokens = [7, 7, 7], 3
    # ...the next answer loads the kept start instead of evaluating it again.
    list(model.stream(_asking("And the card limit?"), GenerationConfig()))
    assert llama.states == ["reset", "saved", "reset", "cleared", "loaded state after 0"]
    assert len(llama.evaluated) == 1 and model.prompt_cache is not None
    assert model.prompt_cache.hits == 1


def test_without_the_prompt_cache_every_prompt_starts_from_nothing(tmp_path: Path) -> None:
    path = tmp_path / "model.gguf"
    path.write_bytes(b"GGUF" + bytes(16))
    model = LlamaCppGenerator(path, prompt_cache=False)
    model._llm = StandInLlama(["Five euros."])  # type: ignore[assignment]
    list(model.stream(_asking("What is the fee?"), GenerationConfig()))
    list(model.stream(_asking("And the card limit?"), GenerationConfig()))
    assert model._llm.states == ["reset", "reset"]  # type: ignore[attr-defined]
