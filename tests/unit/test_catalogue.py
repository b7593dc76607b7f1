"""Catalogue verification: wrong size, wrong hash or a non-GGUF file is refused."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import pytest

from rag import catalogue
from rag.catalogue import CatalogueError, CatalogueModel


def _model(data: bytes) -> CatalogueModel:
    return replace(catalogue.find("qwen2.5-coder-0.5b"), size=len(data),
                   sha256=hashlib.sha256(data).hexdigest())


def _parts(tmp_path: Path, data: bytes) -> list[Path]:
    parts = []
    for i, start in enumerate(range(0, len(data), 4)):
        part = tmp_path / f"part{i:02d}.bin"
        part.write_bytes(data[start:start + 4])
        parts.append(part)
    return parts


def test_unknown_model_lists_the_known_ones() -> None:
    with pytest.raises(CatalogueError, match="smollm2-135m"):
        catalogue.find("gpt-5")


def test_catalogue_entries_carry_the_published_hashes() -> None:
    assert catalogue.find("smollm2-135m").sha256.startswith("b179c952")
    assert catalogue.find("qwen2.5-coder-0.5b").size == 491_400_064
    assert len(catalogue.find("qwen2.5-coder-1.5b").packages) == 22


@pytest.mark.parametrize("tamper", ["size", "hash", "header"])
def test_mismatch_is_refused_and_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tamper: str
) -> None:
    data = b"NOT A GGUF FILE AT ALL"
    model = _model(data)
    if tamper == "size":
        model = replace(model, size=len(data) + 1)
    elif tamper == "hash":
        model = replace(model, sha256="0" * 64)
    monkeypatch.setattr(catalogue, "source_files", lambda _: _parts(tmp_path, data))
    models = tmp_path / "models"
    with pytest.raises(CatalogueError, match=r"refus|not a GGUF"):
        catalogue.assemble(model, models)
    assert not catalogue.is_installed(model, models)
    assert not any(models.glob("*.gguf")) and not any(models.glob("*.partial"))


def test_missing_packages_say_how_to_install(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    monkeypatch.setattr(catalogue, "source_files", lambda _: None)
    with pytest.raises(CatalogueError, match="coffre models install"):
        catalogue.assemble(catalogue.find("qwen2.5-coder-1.5b"), tmp_path)


def test_the_model_to_run_is_explicit_then_selected_then_the_default(tmp_path: Path) -> None:
    import json

    from api.settings import load_settings
    from api.wiring import llm_path, selected_model

    models = tmp_path / "models"
    settings = load_settings(data_dir=tmp_path, models_dir=models)
    assert selected_model(settings) == catalogue.DEFAULT_MODEL
    # The default is not installed in this empty folder: the error says what to do.
    with pytest.raises(CatalogueError, match=rf"coffre models install {catalogue.DEFAULT_MODEL}"):
        llm_path(settings)
    models.mkdir()
    (models / "selected.json").write_text(json.dumps({"name": "qwen2.5-coder-0.5b"}))
    assert selected_model(settings) == "qwen2.5-coder-0.5b"
    assert selected_model(settings.model_copy(update={"llm": "smollm2-135m"})) == "smollm2-135m"
    gguf = tmp_path / "any.gguf"
    gguf.write_bytes(b"GGUF")
    assert llm_path(settings.model_copy(update={"llm_model": gguf})) == gguf
