"""Bodies shared by several resources: filters, documents, passages, ranked passages."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from indexes.filters import SearchFilter
from indexes.records import DocumentRecord
from rag.retrieval import Hit


class Filters(BaseModel):
    """Metadata filters, applied before ranking."""

    model_config = ConfigDict(extra="forbid")

    documents: list[str] | None = Field(None, description="Only these document ids.")
    path_prefix: str | None = Field(
        None, description="Only documents whose source path starts so."
    )
    ingested_after: datetime | None = Field(
        None, description="Only documents ingested at or after."
    )
    ingested_before: datetime | None = Field(
        None, description="Only documents ingested at or before."
    )

    def to_filter(self) -> SearchFilter:
        """The core filter for these fields (the caller's groups are added by api.access)."""
        return SearchFilter(
            doc_ids=frozenset(self.documents) if self.documents is not None else None,
            path_prefix=self.path_prefix,
            ingested_after=self.ingested_after,
            ingested_before=self.ingested_before,
        )


def requested_filter(filters: Filters | None) -> SearchFilter | None:
    """The request's own filters, if it gave any."""
    return filters.to_filter() if filters is not None else None


class DocumentOut(BaseModel):
    """A stored document's metadata."""

    doc_id: str
    title: str
    source_path: str
    mime: str
    language: str
    pages: int | None
    version: int
    content_hash: str
    ingested_at: str
    chunks: int

    @classmethod
    def of(cls, doc: DocumentRecord) -> DocumentOut:
        """From the store record."""
        return cls(
            doc_id=doc.doc_id, title=doc.title, source_path=doc.source_path, mime=doc.mime,
            language=doc.language, pages=doc.pages, version=doc.version,
            content_hash=doc.content_hash, ingested_at=doc.ingested_at, chunks=doc.chunk_count,
        )


class ChunkOut(BaseModel):
    """A stored passage with its document, for checking a citation."""

    chunk_id: str
    text: str
    page: int | None
    page_end: int | None
    section: str
    kind: str
    document: DocumentOut


class SearchResult(ChunkOut):
    """A ranked chunk."""

    score: float
    vector_score: float | None
    keyword_score: float | None

    @classmethod
    def of(cls, hit: Hit) -> SearchResult:
        """From a retrieval hit."""
        chunk = hit.stored.chunk
        return cls(
            chunk_id=chunk.chunk_id, text=chunk.text, page=chunk.page, page_end=chunk.page_end,
            section=chunk.section, kind=chunk.kind, document=DocumentOut.of(hit.stored.document),
            score=hit.score, vector_score=hit.vector_score, keyword_score=hit.keyword_score,
        )
