"""COFFRE_WORKERS: copies of the in-process model behind one generator, least loaded first.

Each worker is a real `LlamaCppGenerator` whose `Llama` is a stand-in (tests/unit/
test_generation.py), so the pool's routing and the workers' own locks are what is tested.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from api.settings import load_settings
from api.wiring import build_generator
from indexes.library import DocumentIndex
from rag.answering import AnswerConfig, Answerer
from rag.answers import Query
from rag.citations import CitationBuilder
from rag.errors import GenerationError, ModelBusyError
from rag.generation import GenerationConfig, LlamaCppGenerator, served_by
from rag.pool import GeneratorPool, worker_pool
from rag.retrieval import RetrievalConfig, Retriever
from rag.search import Searcher
from tests.unit.answering_kit import card_library
from tests.unit.fakes import FakeEmbedder, MakeItem
from tests.unit.test_generation import StandInLlama

MESSAGES = [{"role": "user", "content": "Question?"}]


class _Meeting(StandInLlama):
    """A stand-in whose streams must meet, two at a time, before their first piece: two
    answers in progress on one model would wait for each other forever."""

    def __init__(self, pieces: list[str], meeting: threading.Barrier) -> None:
        super().__init__(pieces)
        self.meeting = meeting

    def create_chat_completion(self, **kwargs: object) -> Iterator[dict[str, object]]:
        self.meeting.wait(timeout=5)
        yield from super().create_chat_completion(**kwargs)


def _model_file(tmp_path: Path) -> Path:
    path = tmp_path / "model.gguf"
    path.write_bytes(b"GGUF" + bytes(16))
    return path


def _workers(tmp_path: Path, llamas: list[StandInLlama], wait_s: float = 5.0
             ) -> tuple[GeneratorPool, list[LlamaCppGenerator]]:
    made = []
    for llama in llamas:
        worker = LlamaCppGenerator(_model_file(tmp_path), wait_s=wait_s)
        worker._llm = llama  # type: ignore[assignment]
        made.append(worker)
    return worker_pool(made, wait_s=wait_s), made


def test_answers_at_once_go_to_different_workers(tmp_path: Path) -> None:
    pool, workers = _workers(tmp_path, [StandInLlama(["a", "b"]) for _ in range(2)],
                             wait_s=0.2)
    first, second = pool.stream(MESSAGES, GenerationConfig()), pool.stream(
        MESSAGES, GenerationConfig())
    assert next(first) == next(second) == "a"
    assert (served_by(first), served_by(second)) == ("local:0", "local:1")
    assert all(w.lock.locked() for w in workers)
    with pytest.raises(ModelBusyError, match="COFFRE_GENERATION_WAIT_S"):
        next(pool.stream(MESSAGES, GenerationConfig()))
    first.close()
    assert not workers[0].lock.locked()
    third = pool.stream(MESSAGES, GenerationConfig())
    assert list(third) == ["a", "b"] and served_by(third) == "local:0"
    second.close()
    assert not any(w.lock.locked() for w in workers)


def test_concurrent_questions_are_generated_in_parallel_over_the_workers(
    tmp_path: Path,
) -> None:
    meeting = threading.Barrier(2)
    pool, _ = _workers(tmp_path, [_Meeting(["x", "y"], meeting) for _ in range(2)])

    def generate(_: int) -> tuple[str, str | None]:
        stream = pool.stream(MESSAGES, GenerationConfig())
        return "".join(stream), served_by(stream)

    with ThreadPoolExecutor(4) as threads:
        done = list(threads.map(generate, range(4)))
    assert [text for text, _ in done] == ["xy"] * 4
    assert sorted(where for _, where in done) == ["local:0", "local:0", "local:1", "local:1"]


def test_the_pool_of_workers_has_their_capacity_and_their_model(tmp_path: Path) -> None:
    pool, workers = _workers(tmp_path, [StandInLlama(["a"]) for _ in range(3)])
    assert pool.capacity == 3
    assert pool.model_id == "model.gguf" and pool.context_size == 4096
    assert pool.count_tokens("two words") == 2
    assert pool.members[1].generator is workers[1]


def test_a_paused_answer_goes_on_with_the_worker_that_wrote_its_start(
    tmp_path: Path, index: DocumentIndex, embedder: FakeEmbedder, item: MakeItem
) -> None:
    card_library(index, item)
    reply = ["The card fee is five euros per month [1].", " Cards are renewed",
             " every three years [1]."]
    llamas = [StandInLlama(reply) for _ in range(3)]
    pool, _ = _workers(tmp_path, llamas)  # type: ignore[arg-type]
    searcher = Searcher(Retriever(index, embedder, RetrievalConfig()), None)
    citations = CitationBuilder(embedder.embed_passages, index.similarity)
    answer = Answerer(searcher, pool, citations, AnswerConfig(top_k=2)).ask(
        Query("What is the card fee per month?"))
    assert not answer.refused and answer.text == "".join(reply)
    assert answer.served_by == "local:0"
    # Paused at its first sentence (context saved), judged by worker 1, then continued on
    # worker 0 from that context, though worker 2 was the least used.
    assert llamas[0].states[-1] == "loaded state after 2"
    assert llamas[1].produced == len(reply) and llamas[1].prompts == []  # the check: a chat
    assert llamas[2].produced == 0 and llamas[2].states == []


def test_a_worker_that_fails_is_not_retried_on_another(tmp_path: Path) -> None:
    pool, workers = _workers(tmp_path, [StandInLlama(["a"]) for _ in range(2)])
    workers[0]._llm = None  # loads the fake file for real: llama.cpp refuses it
    workers[0].path.write_bytes(b"GGUF")
    with pytest.raises(GenerationError, match="cannot load"):
        list(pool.stream(MESSAGES, GenerationConfig()))
    assert pool.capacity == 2  # still in service: the error is the model's, not the worker's
    stream = pool.stream(MESSAGES, GenerationConfig())
    assert list(stream) == ["a"] and served_by(stream) == "local:1"


def test_coffre_workers_builds_that_many_copies_of_the_model(tmp_path: Path) -> None:
    path = _model_file(tmp_path)
    pool = build_generator(load_settings(llm_model=path, workers=2, data_dir=tmp_path))
    assert isinstance(pool, GeneratorPool) and pool.capacity == 2
    workers = [m.generator for m in pool.members]
    assert all(isinstance(w, LlamaCppGenerator) and w.path == path for w in workers)
    assert workers[0] is not workers[1]
    assert all(w._llm is None for w in workers)  # type: ignore[attr-defined]  # not loaded
    settings = load_settings(llm_model=path, workers=2, threads=3, data_dir=tmp_path)
    explicit = build_generator(settings)
    assert isinstance(explicit, GeneratorPool)
    assert [m.generator.threads for m in explicit.members] == [3, 3]  # type: ignore[attr-defined]
    unset = build_generator(load_settings(llm_model=path, workers=2, data_dir=tmp_path))
    assert isinstance(unset, GeneratorPool)
    threads = load_settings().threads
    assert [m.generator.threads for m in unset.members] == [  # type: ignore[attr-defined]
        max(1, threads // 2)] * 2
    single = build_generator(load_settings(llm_model=path, data_dir=tmp_path))
    assert isinstance(single, LlamaCppGenerator)  # one worker: the plain in-process model
