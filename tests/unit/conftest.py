"""Shared fixtures: a fake embedder, a document index in tmp_path, record factories."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from indexes.library import DocumentBatchItem, DocumentIndex
from tests.unit.fakes import FakeEmbedder, MakeItem, make_item


@pytest.fixture(autouse=True)
def _no_coffre_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No COFFRE_* variable of the machine running the tests leaks into them."""
    for name in list(os.environ):
        if name.startswith("COFFRE_"):
            monkeypatch.delenv(name)


@pytest.fixture
def embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def index_dir(tmp_path: Path) -> Path:
    return tmp_path / "index"


@pytest.fixture
def index(index_dir: Path, embedder: FakeEmbedder) -> Iterator[DocumentIndex]:
    idx = DocumentIndex(index_dir, embedder)
    yield idx
    idx.close()


@pytest.fixture
def item(embedder: FakeEmbedder) -> MakeItem:
    def factory(name: str, texts: Sequence[str], **kwargs: object) -> DocumentBatchItem:
        return make_item(embedder, name, texts, **kwargs)  # type: ignore[arg-type]

    return factory
