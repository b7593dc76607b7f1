"""With no answer model installed, `coffre ingest` and `coffre search` still work; what
needs the model says how to install one."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.cli.common import Wiring
from api.settings import Settings, load_settings
from api.wiring import Services, build_services
from rag import catalogue
from tests.unit.cli_kit import records, run, write_corpus
from tests.unit.fakes import FakeEmbedder


@pytest.fixture
def no_model(tmp_path: Path) -> tuple[Wiring, dict[str, str]]:
    """The real wiring and the real (lazy) answer model, COFFRE_MODELS_DIR an empty folder;
    only the embedder is a fake."""
    empty = tmp_path / "models"
    empty.mkdir()
    env = {"COFFRE_MODELS_DIR": str(empty), "COFFRE_DATA_DIR": str(tmp_path / "data")}

    def services(settings: Settings) -> Services:
        return build_services(settings, embedder=FakeEmbedder())

    return Wiring(settings=load_settings, services=services), env


def test_ingest_and_search_need_no_answer_model(
    tmp_path: Path, no_model: tuple[Wiring, dict[str, str]]
) -> None:
    wiring, env = no_model
    ingested = run(wiring, "ingest", str(write_corpus(tmp_path)), env=env)
    assert ingested.exit_code == 0, ingested.output
    assert "ok 2" in ingested.stdout
    found = run(wiring, "search", "buy-to-let loan-to-value", "-k", "1", env=env)
    assert found.exit_code == 0, found.output
    assert "1. Retail Credit Policy" in found.stdout
    assert [r["kind"] for r in records(tmp_path)] == ["search"]
    assert not any((tmp_path / "models").iterdir())  # nothing was looked for or written


@pytest.mark.parametrize("command", [["ask", "What is the LTV?"], ["serve"],
                                     ["demo", "--no-serve"]])
def test_what_needs_the_model_says_how_to_install_it(
    tmp_path: Path, no_model: tuple[Wiring, dict[str, str]], command: list[str]
) -> None:
    wiring, env = no_model
    if command[0] == "demo":
        command = [*command, "--corpus", str(write_corpus(tmp_path))]
    result = run(wiring, *command, env=env)
    assert result.exit_code == 3, result.output
    [line] = result.stderr.strip().splitlines()
    assert f"model {catalogue.DEFAULT_MODEL} is not installed" in line
    assert f"coffre models install {catalogue.DEFAULT_MODEL}" in line
    assert "Traceback" not in result.output
