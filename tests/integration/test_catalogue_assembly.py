"""A real GGUF file split into parts is assembled, verified and selected."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from api.settings import load_settings
from api.wiring import build_generator
from rag import catalogue
from rag.generation import default_llm_path

pytestmark = pytest.mark.integration


def test_split_smollm_is_assembled_verified_and_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = default_llm_path().read_bytes()
    parts = []
    for i, start in enumerate(range(0, len(data), 30_000_000)):
        part = tmp_path / f"part{i:02d}.bin"
        part.write_bytes(data[start:start + 30_000_000])
        parts.append(part)
    model = replace(catalogue.find("smollm2-135m"), split=True)
    monkeypatch.setattr(catalogue, "source_files", lambda _: parts)
    models = tmp_path / "data" / "models"
    path = catalogue.assemble(model, models)
    assert path.read_bytes() == data
    assert catalogue.is_installed(model, models)
    settings = load_settings(data_dir=tmp_path / "data", models_dir=models, llm="smollm2-135m")
    generator = build_generator(settings)
    assert generator.path == path
    # The digest verified at assembly is the audit trail's fingerprint: no second hashing.
    monkeypatch.setattr("rag.generation.file_sha256", lambda _: pytest.fail("hashed again"))
    assert generator.sha256 == model.sha256
