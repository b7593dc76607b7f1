"""Shared fixtures: a fake embedder, a document index in tmp_path, record factories."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings, load_settings
from api.wiring import Services, build_services
from indexes.library import DocumentBatchItem, DocumentIndex
from tests.unit.fakes import FakeEmbedder, FakeGenerator, MakeItem, make_item
from tests.unit.http_kit import LTV_ANSWER


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


# --- The services through the real wiring, with the fake models (HTTP and CLI tests) ---

@pytest.fixture
def fake_generator() -> FakeGenerator:
    """The answer model of `services`: it answers LTV_ANSWER (cited to source 1)."""
    return FakeGenerator([LTV_ANSWER])


@pytest.fixture
def coffre_settings(tmp_path: Path) -> Settings:
    """Settings over a fresh data folder and an empty models folder (no model installed)."""
    return load_settings(data_dir=tmp_path / "data", models_dir=tmp_path / "models")


@pytest.fixture
def services(
    coffre_settings: Settings, embedder: FakeEmbedder, fake_generator: FakeGenerator
) -> Iterator[Services]:
    """Everything wired by `build_services` from `coffre_settings`, with the fake models."""
    built = build_services(coffre_settings, embedder=embedder, generator=fake_generator)
    yield built
    built.close()


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    """The HTTP API over `services`, in-process (no warm-up: the fakes need none)."""
    with TestClient(create_app(services, warm_up=False)) as http:
        yield http
