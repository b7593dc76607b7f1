"""A model file's SHA-256, computed once and cached beside the file.

Every ask audit record names the model by its hash. Hashing a 1.1 GB GGUF file takes
seconds, so the digest is kept in `<model>.sha256.json`, keyed by the file's size and
modification time: a later process (the next `coffre ask`, a restarted server) reads it back
instead of hashing again, and a replaced or edited model file is hashed afresh.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from indexes.records import file_sha256

CACHE_SUFFIX = ".sha256.json"


@dataclass(frozen=True)
class Fingerprint:
    """A file's digest and the size and modification time it was computed for."""

    size: int
    mtime_ns: int
    sha256: str


def cache_path(path: Path) -> Path:
    """Where the digest of `path` is cached: `model.gguf` -> `model.gguf.sha256.json`."""
    return path.with_name(path.name + CACHE_SUFFIX)


def read_cached(path: Path) -> str | None:
    """The cached digest of `path`, or None when absent, unreadable or stale."""
    stat = path.stat()
    try:
        data = json.loads(cache_path(path).read_text(encoding="utf-8"))
        cached = Fingerprint(int(data["size"]), int(data["mtime_ns"]), str(data["sha256"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if (cached.size, cached.mtime_ns) != (stat.st_size, stat.st_mtime_ns):
        return None
    return cached.sha256


def cached_sha256(path: Path, hash_file: Callable[[Path], str] = file_sha256) -> str:
    """SHA-256 of `path`, from its cache file when that matches, else hashed and cached.

    A folder that cannot be written (a read-only model share) only costs the cache: the
    caller keeps the digest in memory for the life of the process.
    """
    cached = read_cached(path)
    if cached is not None:
        return cached
    digest = hash_file(path)
    write_cached(path, digest)
    return digest


def write_cached(path: Path, digest: str) -> None:
    """Cache `digest` as the SHA-256 of `path` as it is now (size and modification time)."""
    stat = path.stat()
    record = Fingerprint(stat.st_size, stat.st_mtime_ns, digest)
    # A folder that cannot be written keeps no cache: the digest then lives in memory only.
    with contextlib.suppress(OSError):
        cache_path(path).write_text(json.dumps(asdict(record)), encoding="utf-8")
