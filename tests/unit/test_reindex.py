"""`coffre reindex`: every stored chunk re-embedded by another embedder, nothing parsed
again; an interrupted run leaves the old index whole and is finished by the next."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexes import reindex as reindex_module
from indexes.errors import ModelMismatchError
from indexes.filters import SearchFilter
from indexes.library import DocumentIndex
from indexes.reindex import reindex
from tests.unit.cli_kit import fake_wiring, run
from tests.unit.fakes import FakeEmbedder
from tests.unit.ingest_kit import make_ingester

TEXTS = {"cards.txt": "Card replacement costs ten euros.",
         "loans.txt": "Mortgage rates are fixed for ten years.",
         "hours.txt": "Branches open at nine on weekdays.",
         "wires.txt": "SEPA transfers close at half past three."}


class HalfEmbedder(FakeEmbedder):
    """Another model: the fake's first 32 dimensions, renormalised."""

    def __init__(self, fail_after: int | None = None) -> None:
        super().__init__("half-32")
        self.fail_after = fail_after
        self.batches = 0

    @property
    def dimension(self) -> int:
        return 32

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        self.batches += 1
        if self.fail_after is not None and self.batches > self.fail_after:
            raise KeyboardInterrupt  # the operator's Ctrl-C, or a kill, half way
        return self._half(super().embed_passages(texts))

    def embed_query(self, text: str) -> np.ndarray:
        return self._half(super().embed_query(text)[None, :])[0]

    @staticmethod
    def _half(vectors: np.ndarray) -> np.ndarray:
        half = vectors[:, :32]
        norms = np.linalg.norm(half, axis=1, keepdims=True)
        return (half / np.where(norms == 0, 1, norms)).astype(np.float32)


@pytest.fixture
def folder(tmp_path: Path, embedder: FakeEmbedder) -> Path:
    """An index built with the fake embedder from four files."""
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in TEXTS.items():
        (docs / name).write_text(text + "\n")
    index = DocumentIndex(tmp_path / "index", embedder)
    make_ingester(index).run([docs])
    index.close()
    return tmp_path / "index"


def chunk_ids(index: DocumentIndex) -> list[str]:
    stored = index.store.chunks_by_rowids(list(range(1, 9)))
    return sorted(c.chunk.chunk_id for c in stored.values())


def test_every_chunk_is_re_embedded_and_the_index_opens_with_the_new_model(
    folder: Path, embedder: FakeEmbedder
) -> None:
    before = DocumentIndex(folder, embedder)
    ids = chunk_ids(before)
    before.close()
    report = reindex(folder, HalfEmbedder())
    assert (report.model_from, report.model_to, report.embedded, report.chunks) == (
        "fake-hash-64", "half-32", 4, 4)
    with pytest.raises(ModelMismatchError):
        DocumentIndex(folder, embedder)
    after = DocumentIndex(folder, HalfEmbedder())
    assert chunk_ids(after) == ids  # the same chunks: nothing was parsed or chunked again
    top = after.vector_search(HalfEmbedder().embed_query("mortgage rates fixed"), 1,
                              SearchFilter())
    (best,) = after.store.chunks_by_rowids([top[0][0]]).values()
    assert best.chunk.text == TEXTS["loans.txt"]
    assert after._vector_index().dimension == 32
    after.close()


def test_an_interrupted_reindex_leaves_the_old_index_and_the_next_run_finishes(
    folder: Path, embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reindex_module, "BATCH", 2)
    with pytest.raises(KeyboardInterrupt):
        reindex(folder, HalfEmbedder(fail_after=1))
    old = DocumentIndex(folder, embedder)  # still the old model's, whole
    top = old.vector_search(embedder.embed_query("branches open nine"), 1, SearchFilter())
    (best,) = old.store.chunks_by_rowids([top[0][0]]).values()
    assert best.chunk.text == TEXTS["hours.txt"]
    old.close()
    second = HalfEmbedder()
    report = reindex(folder, second)
    assert (report.resumed, report.embedded, second.batches) == (2, 2, 1)
    DocumentIndex(folder, HalfEmbedder()).close()


def test_coffre_reindex_in_process(tmp_path: Path) -> None:
    from dataclasses import replace

    wiring = fake_wiring(tmp_path)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "cards.txt").write_text(TEXTS["cards.txt"] + "\n")
    assert run(wiring, "ingest", str(docs)).exit_code == 0
    done = run(replace(wiring, embedder=lambda _: HalfEmbedder()), "reindex")
    assert done.exit_code == 0, done.output
    assert "1 chunks now embedded by half-32 (before: fake-hash-64)" in done.stdout
