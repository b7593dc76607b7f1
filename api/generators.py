"""The answer model, built on first use: ingesting and searching never need it.

Finding the GGUF file fails when no answer model is installed (`coffre models install`);
`coffre ingest` and `coffre search` must work all the same, so the model is only looked for
when something is first generated (an answer, a translation), or when a server starts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

from rag.generation import GenerationConfig, Generator


class LazyGenerator:
    """A Generator that builds the real one (by `build`) the first time it is used."""

    def __init__(self, build: Callable[[], Generator]) -> None:
        self._build = build
        self._built: Generator | None = None
        self._lock = threading.Lock()

    def resolve(self) -> Generator:
        """The real generator, built now if it was not yet (its errors raised here)."""
        with self._lock:
            if self._built is None:
                self._built = self._build()
            return self._built

    @property
    def model_id(self) -> str:
        """The real model's identity."""
        return self.resolve().model_id

    @property
    def context_size(self) -> int:
        """The real model's context."""
        return self.resolve().context_size

    @property
    def capacity(self) -> int:
        """Answers the real model generates at once."""
        return self.resolve().capacity

    @property
    def sha256(self) -> str | None:
        """The model file's SHA-256 (None for a model without one)."""
        return _sha256(self.resolve())

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` in the real model's vocabulary."""
        return self.resolve().count_tokens(text)

    def stream(self, messages: list[dict[str, str]], config: GenerationConfig) -> Iterator[str]:
        """The real model's stream."""
        return self.resolve().stream(messages, config)

    def close(self) -> None:
        """Close the real model if it was built and can be (a pool's health checks and
        connections); one never built is left unbuilt."""
        close = getattr(self._built, "close", None)
        if close is not None:
            close()

    def load(self) -> None:
        """Build the model and load it into memory, when it can be loaded ahead of use."""
        load = getattr(self.resolve(), "load", None)
        if load is not None:
            load()


def _sha256(generator: Any) -> str | None:
    return getattr(generator, "sha256", None)


def ensure_model(generator: Generator) -> None:
    """Find the answer model now: a server should not start without one it can use."""
    if isinstance(generator, LazyGenerator):
        generator.resolve()


def warm_up(generator: Generator) -> str | None:
    """Load the model and fingerprint its file ahead of the first request (blocking).

    Returns the SHA-256 the audit trail records (None for a model with no file), so the
    first audited answer does not hash a gigabyte file inside its request.
    """
    load = getattr(generator, "load", None)
    if load is not None:
        load()
    return _sha256(generator)
