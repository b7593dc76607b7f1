"""Records kept in the store: documents and their chunks."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def content_id(*parts: str, length: int = 20) -> str:
    """A short, stable id derived from content, so re-ingesting yields the same ids."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return digest[:length]


@dataclass(frozen=True)
class DocumentRecord:
    """One ingested source document (a file, or one record of a JSON Lines file)."""

    doc_id: str
    source_path: str
    title: str
    content_hash: str
    mime: str
    language: str
    pages: int | None
    ingested_at: str
    version: int = 1
    groups: tuple[str, ...] = ()
    chunk_count: int = 0


@dataclass(frozen=True)
class ChunkRecord:
    """A passage of a document as stored, indexed and cited."""

    chunk_id: str
    doc_id: str
    ordinal: int
    text: str
    page: int | None
    page_end: int | None
    section: str
    kind: str
    language: str
    rowid: int = 0
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredChunk:
    """A chunk joined with the metadata of its document, as returned to callers."""

    chunk: ChunkRecord
    document: DocumentRecord
