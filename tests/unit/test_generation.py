"""The in-process generator holds the model only while its stream runs, and waits boundedly.

llama-cpp-python's `Llama` is replaced by a stand-in with the same streaming shape, so the
lock, the close and the deadline of the real `LlamaCppGenerator` are what is tested.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import aclosing
from pathlib import Path

import anyio
import pytest

from api.streaming import off_the_loop
from indexes.library import DocumentIndex
from rag.answering import AnswerConfig, Answerer
from rag.answers import DraftText, Finished, Query, Retrieved
from rag.citations import CitationBuilder
from rag.generation import GenerationConfig, LlamaCppGenerator, ModelBusyError
from rag.retrieval import RetrievalConfig, Retriever
from rag.search import Searcher
from tests.unit.fakes import FakeEmbedder, MakeItem

MESSAGES = [{"role": "user", "content": "Question?"}]


class StandInLlama:
    """Streams `pieces` like `Llama.create_chat_completion(stream=True)`; records closes."""

    def __init__(self, pieces: list[str]) -> None:
        self.pieces = pieces
        self.produced = 0
        self.closed = 0

    def reset(self) -> None:
        pass

    def tokenize(self, text: bytes, add_bos: bool = False, special: bool = False) -> list[int]:
        return list(range(len(text.split())))  # one token a word, as the fakes count

    def create_chat_completion(self, **_: object) -> Iterator[dict[str, object]]:
        try:
            for piece in self.pieces:
                self.produced += 1
                yield {"choices": [{"delta": {"content": piece}}]}
        finally:
            self.closed += 1


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
