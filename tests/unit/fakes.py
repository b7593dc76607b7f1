"""Deterministic stand-ins for the embedding model and the language model, and helpers.

The fake embedder hashes the analysed words of a text (the same folding and stemming as the
keyword index) into a signed bag-of-words vector, then normalises it: texts sharing words
have a high cosine, texts sharing none have a cosine near zero.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from indexes.library import DocumentBatchItem
from indexes.records import ChunkRecord, DocumentRecord, content_id
from indexes.text import analyze
from rag.followup import FOLLOW_UP_LABEL
from rag.generation import GenerationConfig, Purpose

DIMENSION = 64


def _bucket(word: str) -> tuple[int, float]:
    digest = hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    return value % DIMENSION, (1.0 if (value >> 32) & 1 else -1.0)


class FakeEmbedder:
    """Hashed bag of analysed words, unit length, 64 dimensions; tokens are words."""

    def __init__(self, model_id: str = "fake-hash-64", max_tokens: int = 512) -> None:
        self._model_id = model_id
        self._max_tokens = max_tokens
        self.passage_calls = 0
        self.query_calls = 0

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dimension(self) -> int:
        return DIMENSION

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def vector(self, text: str) -> np.ndarray:
        out = np.zeros(DIMENSION, dtype=np.float32)
        for word in analyze(text):
            index, sign = _bucket(word)
            out[index] += sign
        norm = float(np.linalg.norm(out))
        if norm == 0.0:
            out[0] = 1.0
            return out
        return out / norm

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        self.passage_calls += 1
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        return np.stack([self.vector(t) for t in texts]).astype(np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        self.query_calls += 1
        return self.vector(text)


class FakeGenerator:
    """Yields canned pieces and records the prompts it was given.

    What it replies follows the request's `config.purpose`, never the prompt's wording. The
    answerability check (Purpose.CHECK) gets `verdict` instead (or the next of `verdicts`
    while any are left), and is recorded apart, in `checks`. A translation request
    (Purpose.TRANSLATE) gets its text's entry in `translations` (nothing when it has none)
    and is recorded in `translated`. A follow-up's rewrite (Purpose.REWRITE) gets the
    follow-up's entry in `rewrites` (else the follow-up unchanged), and its messages are
    recorded in `rewritten`.
    """

    def __init__(
        self, pieces: Sequence[str] = ("",), model_id: str = "fake-llm", context_size: int = 4096,
        verdict: str = "Yes",
    ) -> None:
        self.pieces = list(pieces)
        self._model_id = model_id
        self._context_size = context_size
        self._capacity = 1
        self.verdict = verdict
        self.verdicts: list[str] = []
        self.calls: list[list[dict[str, str]]] = []
        self.checks: list[list[dict[str, str]]] = []
        self.translations: dict[str, str] = {}
        self.translated: list[str] = []
        self.rewrites: dict[str, str] = {}
        self.rewritten: list[list[dict[str, str]]] = []
        self.continued: list[str] = []  # the reply so far of each answer continued
        self.streaming = False  # a stream is open (the real model's lock is held)

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def context_size(self) -> int:
        return self._context_size

    @property
    def capacity(self) -> int:
        return self._capacity

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def stream(self, messages: list[dict[str, str]], config: GenerationConfig) -> Iterator[str]:
        # One model, one context: asked again while a stream of it is open, the real one
        # would wait for itself (its lock), so the core must never do it.
        assert not self.streaming, f"the model was asked ({config.purpose}) while busy"
        self.streaming = True
        try:
            yield from self._reply(messages, config)
        finally:
            self.streaming = False

    def _reply(self, messages: list[dict[str, str]], config: GenerationConfig) -> Iterator[str]:
        if config.purpose is Purpose.CHECK:
            self.checks.append(messages)
            yield self.verdicts.pop(0) if self.verdicts else self.verdict
        elif config.purpose is Purpose.TRANSLATE:
            self.translated.append(messages[-1]["content"])
            yield self.translations.get(messages[-1]["content"], "")
        elif config.purpose is Purpose.REWRITE:
            self.rewritten.append(messages)
            follow_up = follow_up_of(messages)
            yield self.rewrites.get(follow_up, follow_up)
        elif messages[-1]["role"] == "assistant":
            # A paused answer goes on: what follows the reply so far, as it would have come.
            self.continued.append(messages[-1]["content"])
            yield from _after(self.pieces, messages[-1]["content"])
        else:
            self.calls.append(messages)
            yield from self.pieces


def _after(pieces: Sequence[str], reply: str) -> Iterator[str]:
    """The pieces that follow `reply`, a start of their concatenation (a piece cut in two
    yields its second part)."""
    assert "".join(pieces).startswith(reply), (pieces, reply)
    done = 0
    for piece in pieces:
        if done + len(piece) > len(reply):
            yield piece[max(0, len(reply) - done):]
        done += len(piece)


def follow_up_of(messages: list[dict[str, str]]) -> str:
    """The follow-up question a rewrite request is about (its line in the last message)."""
    content = messages[-1]["content"]
    return content.rsplit(FOLLOW_UP_LABEL, 1)[1].split("\n", 1)[0]


def word_count(text: str) -> int:
    return len(text.split())


MakeItem = Callable[..., DocumentBatchItem]


def make_item(
    embedder: FakeEmbedder,
    name: str,
    texts: Sequence[str],
    *,
    version: int = 1,
    groups: Sequence[str] = (),
    path: str | None = None,
    title: str | None = None,
    language: str = "en",
    ingested_at: str = "2024-05-01T10:00:00+00:00",
) -> DocumentBatchItem:
    """A document with one chunk per text, embedded by the fake embedder."""
    source = path or f"/docs/{name}.txt"
    doc_id = content_id(source)
    content_hash = content_id(*texts, str(version), length=64)
    document = DocumentRecord(
        doc_id=doc_id,
        source_path=source,
        title=title if title is not None else name,
        content_hash=content_hash,
        mime="text/plain",
        language=language,
        pages=None,
        ingested_at=ingested_at,
        version=version,
        groups=tuple(groups),
    )
    chunks = [
        ChunkRecord(
            chunk_id=content_id(doc_id, content_hash, str(i)),
            doc_id=doc_id,
            ordinal=i,
            text=text,
            page=None,
            page_end=None,
            section="",
            kind="text",
            language=language,
        )
        for i, text in enumerate(texts)
    ]
    vectors = embedder.embed_passages(list(texts))
    return DocumentBatchItem(document, chunks, vectors)
