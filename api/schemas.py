"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from indexes.filters import SearchFilter
from indexes.records import DocumentRecord
from rag.answering import Answer
from rag.citations import Citation
from rag.retrieval import Hit, SearchMode


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

    def to_filter(self, access: SearchFilter | None = None) -> SearchFilter:
        """The core filter for these fields, within the caller's access groups."""
        return SearchFilter(
            groups=access.groups if access else None,
            doc_ids=frozenset(self.documents) if self.documents is not None else None,
            path_prefix=self.path_prefix,
            ingested_after=self.ingested_after,
            ingested_before=self.ingested_before,
        )


class SearchRequest(BaseModel):
    """A search: ranked chunks, no generation."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"query": "maximum loan-to-value buy-to-let", "top_k": 5}]},
    )

    query: str = Field(..., min_length=1, max_length=10000, description="What to look for.")
    top_k: int = Field(10, ge=1, le=100, description="How many chunks to return.")
    mode: SearchMode | None = Field(
        None, description="hybrid, vector or keyword; default from settings."
    )
    filters: Filters | None = None


class AskRequest(BaseModel):
    """A question to answer from the documents."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [
            {"question": "What is the maximum loan-to-value for a buy-to-let mortgage?"},
            {"question": "Combien de jours de télétravail par semaine ?", "stream": True},
        ]},
    )

    question: str = Field(..., min_length=1, max_length=4000, description="The question.")
    stream: bool = Field(False, description="Stream tokens as server-sent events.")
    top_k: int | None = Field(None, ge=1, le=20, description="Passages given to the model.")
    mode: SearchMode | None = Field(None, description="hybrid, vector or keyword.")
    filters: Filters | None = None


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


class SearchResponse(BaseModel):
    """Ranked chunks, best first."""

    results: list[SearchResult]


class CitationOut(BaseModel):
    """One citation: which source backs which sentence, down to the quoted span."""

    number: int = Field(..., description="Source number [n] in the answer.")
    sentence: int = Field(..., description="Index of the answer sentence it supports.")
    chunk_id: str
    doc_id: str
    title: str
    source_path: str
    page: int | None
    section: str
    quote: str = Field(..., description="Supporting passage, verbatim from the stored chunk.")
    start: int = Field(..., description="Offset of the quote in the chunk text.")
    end: int
    origin: str = Field(..., description=(
        "'model' (the model wrote [n]), 'attribution' (no marker: the best supporting "
        "source) or 'repair' (the model cited a source that does not support the sentence; "
        "this one does)."))
    support: float

    @classmethod
    def of(cls, citation: Citation) -> CitationOut:
        """From the core citation."""
        return cls(**citation.__dict__)


class SentenceCheckOut(BaseModel):
    """Whether one answer sentence is backed by the passages it cites."""

    index: int
    text: str
    verified: bool
    support: float
    sources: list[int]
    reason: str


class AskResponse(BaseModel):
    """An answer with verified citations."""

    question: str
    answer: str
    refused: bool
    citations: list[CitationOut]
    sources: list[SearchResult]
    model: str
    prompt_version: str
    timings: dict[str, float]
    sentences: list[SentenceCheckOut] = Field(
        default_factory=list, description="Per sentence: verified against its sources or not."
    )
    refusal_reason: str | None = Field(None, description=(
        "Why the answer is 'I don't know': 'relevance' (nothing relevant retrieved), 'model' "
        "(the model said so), 'unverified' (no sentence verified by its sources) or "
        "'answer-check' (asked, the model judged that the cited passages do not answer the "
        "question)."))
    search_query: str | None = Field(None, description=(
        "The question as translated into the embedding model's language, when the sources "
        "were found with it (see COFFRE_QUERY_TRANSLATION); null: searched as asked."))

    @classmethod
    def of(cls, answer: Answer) -> AskResponse:
        """From the core answer."""
        return cls(
            question=answer.question, answer=answer.text, refused=answer.refused,
            citations=[CitationOut.of(c) for c in answer.citations],
            sources=[SearchResult.of(h) for h in answer.sources], model=answer.model,
            prompt_version=answer.prompt_version, timings=answer.timings,
            sentences=[SentenceCheckOut(**{**c.__dict__, "sources": list(c.sources)})
                       for c in answer.checks],
            refusal_reason=answer.refusal_reason, search_query=answer.search_query,
        )


class AuditRecordOut(BaseModel):
    """One audit record as stored, with its chain hashes."""

    seq: int
    at: str
    user: str
    body: dict[str, object]
    prev_hash: str
    hash: str


class GroupsUpdate(BaseModel):
    """New access groups for a document."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"groups": ["risk"]}]}
    )

    groups: list[str] = Field(..., description="Groups allowed to read the document.")


class IngestOut(BaseModel):
    """What became of an uploaded document."""

    file: str
    status: str = Field(..., description="ok, or unchanged when the same content was there.")
    chunks: int
    groups: list[str]
