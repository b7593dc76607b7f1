"""The model file's SHA-256: hashed once, cached beside the file by size and mtime."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from rag import fingerprint
from rag.fingerprint import cache_path, cached_sha256
from rag.generation import LlamaCppGenerator


def _model(tmp_path: Path, content: bytes = b"GGUF" + b"\x00" * 1000) -> Path:
    path = tmp_path / "model.gguf"
    path.write_bytes(content)
    return path


class _Counting:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, path: Path) -> str:
        self.calls += 1
        return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_digest_is_cached_beside_the_file_and_read_back(tmp_path: Path) -> None:
    path, counting = _model(tmp_path), _Counting()
    digest = cached_sha256(path, counting)
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()
    cached = json.loads((tmp_path / "model.gguf.sha256.json").read_text())
    assert cached == {"size": path.stat().st_size, "mtime_ns": path.stat().st_mtime_ns,
                      "sha256": digest}
    assert cached_sha256(path, counting) == digest
    assert counting.calls == 1


def test_a_changed_file_is_hashed_again(tmp_path: Path) -> None:
    path, counting = _model(tmp_path), _Counting()
    first = cached_sha256(path, counting)
    path.write_bytes(b"GGUF" + b"\x01" * 1000)  # same size, new content and mtime
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert cached_sha256(path, counting) != first
    assert counting.calls == 2


def test_a_corrupt_cache_is_ignored(tmp_path: Path) -> None:
    path, counting = _model(tmp_path), _Counting()
    cache_path(path).write_text("{not json")
    assert cached_sha256(path, counting) == hashlib.sha256(path.read_bytes()).hexdigest()
    assert counting.calls == 1


def test_an_unwritable_folder_only_costs_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, counting = _model(tmp_path), _Counting()
    nowhere = tmp_path / "missing" / "model.gguf.sha256.json"
    monkeypatch.setattr(fingerprint, "cache_path", lambda _: nowhere)
    assert cached_sha256(path, counting) == hashlib.sha256(path.read_bytes()).hexdigest()
    assert not nowhere.exists()


def test_the_generator_hashes_its_file_once_per_process_and_once_per_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, counting = _model(tmp_path), _Counting()
    monkeypatch.setattr(fingerprint, "cached_sha256",
                        lambda p, hash_file: fingerprint.read_cached(p) or counting(p))
    generator = LlamaCppGenerator(path)
    assert generator.sha256 == generator.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert counting.calls == 1  # kept in memory after the first time


def test_a_new_generator_reads_the_cached_digest(tmp_path: Path) -> None:
    path = _model(tmp_path)
    first = LlamaCppGenerator(path).sha256
    assert cache_path(path).is_file()
    cache = json.loads(cache_path(path).read_text())
    cache["sha256"] = "from-the-cache"
    cache_path(path).write_text(json.dumps(cache))
    assert first != "from-the-cache" and LlamaCppGenerator(path).sha256 == "from-the-cache"
