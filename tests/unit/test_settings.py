"""Settings from COFFRE_* variables and an optional TOML file."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.settings import SettingsError, load_settings
from rag.retrieval import Fusion, SearchMode


def test_defaults() -> None:
    settings = load_settings()
    assert settings.chunk_size == 200
    assert settings.chunk_overlap == 40
    assert settings.search_mode is SearchMode.HYBRID
    assert settings.llm_model is None
    assert settings.data_dir == Path("coffre-data")


def test_environment_values_are_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("COFFRE_CHUNK_SIZE", "300")
    monkeypatch.setenv("COFFRE_SEARCH_MODE", "keyword")
    monkeypatch.setenv("COFFRE_FUSION", "weighted")
    monkeypatch.setenv("COFFRE_DATA_DIR", str(tmp_path))
    settings = load_settings()
    assert settings.chunk_size == 300
    assert settings.search_mode is SearchMode.KEYWORD
    assert settings.fusion is Fusion.WEIGHTED
    assert settings.data_dir == tmp_path


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("COFFRE_CHUNK_SIZE", "abc"),
        ("COFFRE_CHUNK_SIZE", "8"),
        ("COFFRE_TOP_K", "0"),
        ("COFFRE_SEARCH_MODE", "fuzzy"),
        ("COFFRE_TEMPERATURE", "3.5"),
        ("COFFRE_PORT", "70000"),
        ("COFFRE_MIN_RELEVANCE", "high"),
    ],
)
def test_wrong_value_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(f"invalid settings: {variable}: ")
    assert message.count("COFFRE_") == 1


@pytest.mark.parametrize(("size", "overlap"), [("100", "100"), ("100", "150"), (None, "200")])
def test_overlap_must_be_smaller_than_size(
    monkeypatch: pytest.MonkeyPatch, size: str | None, overlap: str
) -> None:
    if size is not None:
        monkeypatch.setenv("COFFRE_CHUNK_SIZE", size)
    monkeypatch.setenv("COFFRE_CHUNK_OVERLAP", overlap)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "COFFRE_CHUNK_OVERLAP" in str(caught.value)
    assert f"smaller than COFFRE_CHUNK_SIZE ({size or 200})" in str(caught.value)


def test_overlap_just_below_size_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COFFRE_CHUNK_SIZE", "100")
    monkeypatch.setenv("COFFRE_CHUNK_OVERLAP", "99")
    assert load_settings().chunk_overlap == 99


def test_toml_file_from_coffre_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "coffre.toml"
    config.write_text('chunk_size = 320\nchunk_overlap = 64\ntop_k = 7\nsearch_mode = "vector"\n')
    monkeypatch.setenv("COFFRE_CONFIG", str(config))
    settings = load_settings()
    assert (settings.chunk_size, settings.chunk_overlap, settings.top_k) == (320, 64, 7)
    assert settings.search_mode is SearchMode.VECTOR


def test_environment_wins_over_toml_and_arguments_win_over_both(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "coffre.toml"
    config.write_text("top_k = 7\ncandidates = 30\n")
    monkeypatch.setenv("COFFRE_CONFIG", str(config))
    monkeypatch.setenv("COFFRE_TOP_K", "9")
    settings = load_settings()
    assert settings.top_k == 9
    assert settings.candidates == 30
    assert load_settings(top_k=2).top_k == 2


def test_wrong_value_in_toml_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "coffre.toml"
    config.write_text("top_k = 500\n")
    monkeypatch.setenv("COFFRE_CONFIG", str(config))
    with pytest.raises(SettingsError, match="COFFRE_TOP_K"):
        load_settings()


def test_unknown_key_in_toml_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "coffre.toml"
    config.write_text("chunk_sise = 100\n")
    monkeypatch.setenv("COFFRE_CONFIG", str(config))
    with pytest.raises(SettingsError, match="COFFRE_CHUNK_SISE"):
        load_settings()


def test_missing_config_file_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("COFFRE_CONFIG", str(tmp_path / "absent.toml"))
    with pytest.raises(SettingsError, match=r"^COFFRE_CONFIG: file .*absent\.toml does not exist"):
        load_settings()


def test_nonexistent_llm_model_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("COFFRE_LLM_MODEL", str(tmp_path / "missing.gguf"))
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "COFFRE_LLM_MODEL" in str(caught.value)
    assert "missing.gguf does not exist" in str(caught.value)


def test_existing_llm_model_is_accepted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")
    monkeypatch.setenv("COFFRE_LLM_MODEL", str(model))
    assert load_settings().llm_model == model


def test_llm_model_that_is_a_folder_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("COFFRE_LLM_MODEL", str(tmp_path))
    with pytest.raises(SettingsError, match="COFFRE_LLM_MODEL"):
        load_settings()


def test_nonexistent_embedding_folder_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("COFFRE_EMBEDDING_MODEL", str(tmp_path / "nope"))
    with pytest.raises(SettingsError, match="COFFRE_EMBEDDING_MODEL"):
        load_settings()
    monkeypatch.setenv("COFFRE_EMBEDDING_MODEL", str(tmp_path))
    assert load_settings().embedding_model == tmp_path
