"""Bodies of `POST /v1/ask`: the question, and the answer with its citations and checks."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.http.schemas.common import Filters, SearchResult
from rag.answers import MAX_QUESTION_CHARS, Answer, Speaker, Turn
from rag.citations import Citation
from rag.retrieval import SearchMode
from rag.verification import SentenceCheck

MAX_TURN_CHARS = 8000  # an earlier answer with its list of sources
MAX_TURNS = 50  # the rewrite reads only the newest of them (COFFRE_HISTORY_TOKENS)
# A channel's conversation id: printable, no spaces, as Teams, chat front ends and the chat
# page write theirs.
CONVERSATION_ID = r"^[A-Za-z0-9._:@|=+/-]{1,200}$"


class TurnIn(BaseModel):
    """An earlier turn of the conversation: who said it, and what."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"]
    text: str = Field(..., min_length=1, max_length=MAX_TURN_CHARS)

    @field_validator("text")
    @classmethod
    def _said_something(cls, value: str) -> str:
        return _not_blank(value)

    def turn(self) -> Turn:
        """The core's turn."""
        return Turn(Speaker(self.role), self.text)


class AskRequest(BaseModel):
    """A question to answer from the documents."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [
            {"question": "What is the maximum loan-to-value for a buy-to-let mortgage?"},
            {"question": "Combien de jours de télétravail par semaine ?", "stream": True},
        ]},
    )

    question: str = Field(..., min_length=1, max_length=MAX_QUESTION_CHARS,
                          description="The question.")
    stream: bool = Field(False, description="Stream the answer as server-sent events.")
    history: list[TurnIn] = Field(default_factory=list, max_length=MAX_TURNS, description=(
        "Earlier turns of the conversation, oldest first: a follow-up ('and for Lyon?') is "
        "rewritten from them into a question that stands alone before it is searched."))
    conversation_id: str | None = Field(None, pattern=CONVERSATION_ID, description=(
        "The caller's id of the conversation, recorded with each answer in the audit trail."))
    top_k: int | None = Field(None, ge=1, le=20, description="Passages given to the model.")
    mode: SearchMode | None = Field(None, description="hybrid, vector or keyword.")
    filters: Filters | None = None

    @field_validator("question")
    @classmethod
    def _asks_something(cls, value: str) -> str:
        return _not_blank(value)


def _not_blank(value: str) -> str:
    """Text with something in it besides white space (kept as sent)."""
    if not value.strip():
        raise ValueError("must not be blank")
    return value


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
        return cls(**{**citation.__dict__, "origin": str(citation.origin)})


class SentenceCheckOut(BaseModel):
    """Whether one answer sentence is backed by the passages it cites."""

    index: int
    text: str
    verified: bool
    support: float
    sources: list[int]
    reason: str

    @classmethod
    def of(cls, check: SentenceCheck) -> SentenceCheckOut:
        """From the core check."""
        return cls(index=check.index, text=check.text, verified=check.verified,
                   support=check.support, sources=list(check.sources), reason=check.reason)


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
    standalone_question: str | None = Field(None, description=(
        "A follow-up rewritten with the conversation's earlier turns into the question that "
        "was searched and answered; null: the question was used as asked."))

    @classmethod
    def of(cls, answer: Answer) -> AskResponse:
        """From the core answer."""
        reason = answer.refusal_reason
        return cls(
            question=answer.question, answer=answer.text, refused=answer.refused,
            citations=[CitationOut.of(c) for c in answer.citations],
            sources=[SearchResult.of(h) for h in answer.sources], model=answer.model,
            prompt_version=answer.prompt_version, timings=answer.timings.as_dict(),
            sentences=[SentenceCheckOut.of(c) for c in answer.checks],
            refusal_reason=reason.value if reason is not None else None,
            search_query=answer.search_query, standalone_question=answer.standalone_question,
        )
