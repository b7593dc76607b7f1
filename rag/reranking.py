"""Optional second stage: re-score fused candidates with a local cross-encoder.

Off by default, because no cross-encoder ships offline; any sentence-transformers
CrossEncoder folder works (COFFRE_RERANKER_MODEL).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sentence_transformers import CrossEncoder


class RerankerError(Exception):
    """The cross-encoder could not be loaded."""


class CrossEncoderReranker:
    """A sentence-transformers CrossEncoder from a local folder, loaded lazily once."""

    def __init__(self, folder: Path, *, batch_size: int = 32, max_length: int = 512) -> None:
        if not (folder / "config.json").is_file():
            raise RerankerError(
                f"{folder} is not a cross-encoder folder (no config.json); "
                "set COFFRE_RERANKER_MODEL to a local CrossEncoder folder or leave it empty"
            )
        self.folder = folder
        self.batch_size = batch_size
        self.max_length = max_length
        self._model: CrossEncoder | None = None
        self._lock = threading.Lock()

    def _load(self) -> CrossEncoder:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                from sentence_transformers import CrossEncoder

                try:
                    self._model = CrossEncoder(
                        str(self.folder), max_length=self.max_length, device="cpu",
                        local_files_only=True,
                    )
                except Exception as exc:
                    raise RerankerError(f"cannot load cross-encoder {self.folder}: {exc}") from exc
            return self._model

    def score(self, query: str, passages: Sequence[str]) -> list[float]:
        """Relevance of each passage to the query (higher is better)."""
        if not passages:
            return []
        scores = self._load().predict(
            [(query, passage) for passage in passages],
            batch_size=self.batch_size,
            show_progress_bar=False,
        )
        return [float(s) for s in scores]
