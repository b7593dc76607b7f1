"""The answer model is looked for only when something is generated (or a server starts)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from api.generators import LazyGenerator, ensure_model, warm_up
from api.settings import load_settings
from api.wiring import build_services
from rag.catalogue import CatalogueError
from rag.generation import GenerationConfig, Generator
from tests.unit.fakes import FakeEmbedder, FakeGenerator


class _Builds:
    def __init__(self, generator: Generator | None = None) -> None:
        self.generator = generator
        self.calls = 0

    def __call__(self) -> Generator:
        self.calls += 1
        if self.generator is None:
            raise CatalogueError("model x is not installed; run `coffre models install x`")
        return self.generator


def test_nothing_is_built_until_used_then_once() -> None:
    build = _Builds(FakeGenerator(["Hello", " there"], model_id="m", context_size=1024))
    lazy = LazyGenerator(build)
    assert build.calls == 0
    assert lazy.model_id == "m" and lazy.context_size == 1024
    assert lazy.count_tokens("a b c") == 3
    assert "".join(lazy.stream([{"role": "user", "content": "hi"}], GenerationConfig())) == \
        "Hello there"
    assert lazy.sha256 is None  # a stand-in model has no file
    assert build.calls == 1


def test_a_missing_model_fails_at_first_use_with_its_message() -> None:
    lazy = LazyGenerator(_Builds())
    with pytest.raises(CatalogueError, match="coffre models install"):
        lazy.stream([], GenerationConfig())
    with pytest.raises(CatalogueError):
        ensure_model(lazy)


class _Loadable(FakeGenerator):
    def __init__(self) -> None:
        super().__init__()
        self.loaded = 0

    def load(self) -> None:
        self.loaded += 1

    @property
    def sha256(self) -> str:
        return "cd" * 32

    def stream(self, messages: list[dict[str, str]], config: GenerationConfig) -> Iterator[str]:
        yield from super().stream(messages, config)


def test_warm_up_loads_and_fingerprints_through_the_lazy_model() -> None:
    real = _Loadable()
    assert warm_up(LazyGenerator(lambda: real)) == "cd" * 32
    assert real.loaded == 1
    assert warm_up(FakeGenerator()) is None  # nothing to load, no file


def test_the_wiring_builds_without_an_installed_model(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data", models_dir=tmp_path / "models")
    services = build_services(settings, embedder=FakeEmbedder())
    assert isinstance(services.generator, LazyGenerator)
    assert services.searcher.search("anything", 3).hits == ()
    with pytest.raises(CatalogueError, match="is not installed"):
        services.provenance()
    services.close()


def test_closing_closes_a_built_model_and_builds_none(tmp_path: Path) -> None:
    closed: list[str] = []

    class Closable(FakeGenerator):
        def close(self) -> None:
            closed.append("closed")

    built = LazyGenerator(Closable)
    built.resolve()
    built.close()
    never = LazyGenerator(lambda: pytest.fail("a model was built to be closed"))
    never.close()
    assert closed == ["closed"]
    services = build_services(load_settings(data_dir=tmp_path / "data"),
                              embedder=FakeEmbedder(), generator=Closable())
    services.close()  # a pool's health checks and connections end with the services
    assert closed == ["closed", "closed"]
