"""Records kept in the store: documents and their chunks."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
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
    # When the source file last changed, and what its owner said of it (a NAME.meta.json
    # sidecar or its folder's _meta.json): dates are ISO days, YYYY-MM-DD.
    source_modified_at: str | None = None
    owner: str = ""
    effective_date: str | None = None
    expiry_date: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class VersionRecord:
    """One stored version of a document: the newest is the one searched; older ones (and
    a retired document's last) keep their text for the audit trail to resolve."""

    doc_id: str
    version: int
    content_hash: str
    ingested_at: str
    source_modified_at: str | None
    chunk_count: int
    ended: VersionEnd | None = None
    ended_at: str | None = None

    @property
    def current(self) -> bool:
        """True for the version that search and answers use."""
        return self.ended is None


class VersionEnd(StrEnum):
    """Why a version stopped being searched."""

    REPLACED = "replaced"  # a newer version of the same source was ingested
    RETIRED = "retired"  # its file left the folder a job keeps in sync
    DELETED = "deleted"  # a content owner deleted the document


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

    @property
    def current(self) -> bool:
        """False for a passage of an older or retired version, kept for the audit trail:
        such a chunk has no rowid, for it is in no search index."""
        return self.chunk.rowid > 0
