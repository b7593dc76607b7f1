"""The values the answering core takes and gives: the query, the events of an answer in the
making, the finished answer and its timings.

Every channel (HTTP JSON and streaming, the CLI, later chat completions and Teams) asks with
a `Query` and reads `AnswerEvent`s, choosing what to show: a channel that cannot take text
back shows only `CheckedSentence`s; `/v1/ask` streaming may show `DraftText` as such.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum

from indexes.errors import InputError
from indexes.filters import SearchFilter
from rag.citations import Citation
from rag.prompt import PROMPT_VERSION
from rag.retrieval import Hit, SearchMode
from rag.verification import SentenceCheck

# The longest question any channel takes (HTTP, chat completions, Teams, the CLI): a
# question, not a document pasted in; the prompt's passages need the room.
MAX_QUESTION_CHARS = 4000


def readable(text: str, field: str) -> str:
    """`text` unchanged, or InputError naming `field` when it is not valid Unicode (a lone
    surrogate: what Python makes of undecodable bytes in a command line, and what JSON
    allows; nothing downstream can encode it)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(f"{field}: not valid Unicode text (a lone surrogate at character "
                         f"{exc.start}); send UTF-8 text") from None
    return text


def checked_question(text: str, field: str = "question") -> str:
    """The question as asked, or InputError naming `field` when it is blank, too long or not
    valid Unicode."""
    readable(text, field)
    if not text.strip():
        raise InputError(f"{field}: the question is empty; ask one, e.g. "
                         "\"How long is a valuation report valid for?\"")
    if len(text) > MAX_QUESTION_CHARS:
        raise InputError(f"{field}: the question is {len(text):,} characters, over the "
                         f"limit of {MAX_QUESTION_CHARS:,}; ask one question at a time")
    return text


class Speaker(StrEnum):
    """Who said a turn of a conversation."""

    USER = "user"
    ASSISTANT = "assistant"


@dataclass(frozen=True)
class Turn:
    """One earlier turn of the conversation a question belongs to."""

    speaker: Speaker
    text: str


@dataclass(frozen=True)
class Query:
    """A question as a channel hands it to the core, with what narrows its search.

    `history` holds the conversation's earlier turns (oldest first): a follow-up is
    rewritten from them to stand alone before it is searched; `language` is the question's
    language when the channel knows it (None: detected from the text); `conversation_id`
    is the channel's id of the conversation, recorded in its audits.
    """

    question: str
    history: tuple[Turn, ...] = ()
    language: str | None = None
    search_filter: SearchFilter | None = None
    top_k: int | None = None
    mode: SearchMode | None = None
    conversation_id: str | None = None


class RefusalReason(StrEnum):
    """Why Coffre answered "I don't know"."""

    RELEVANCE = "relevance"  # nothing relevant enough was retrieved; the model was not asked
    MODEL = "model"  # the model said it does not know
    UNVERIFIED = "unverified"  # no sentence was verified by the passages it cites
    ANSWER_CHECK = "answer-check"  # asked, the model judged the cited passages do not answer


@dataclass(frozen=True)
class Timings:
    """Where an answer's time went, in seconds from the start of the answer: the rewrite of
    a follow-up when one ran (`rewrite_s`), else retrieval."""

    rewrite_s: float | None = None
    retrieval_s: float = 0.0
    first_token_s: float | None = None
    decode_s: float | None = None
    answer_tokens: int = 0
    answer_check_s: float | None = None
    total_s: float = 0.0
    # When the first checked sentence could be sent (a channel that cannot take text back
    # shows nothing before); None for a refusal.
    first_sentence_s: float | None = None

    def as_dict(self) -> dict[str, float]:
        """The measured fields only (the JSON `timings` object of an answer)."""
        return {k: float(v) for k, v in asdict(self).items()
                if v is not None and not (k == "answer_tokens" and not v)}


@dataclass(frozen=True)
class Answer:
    """An answer with its citations, the sources it was given, and how long it took."""

    question: str
    text: str
    refused: bool
    citations: tuple[Citation, ...]
    sources: tuple[Hit, ...]
    model: str
    prompt_version: str = PROMPT_VERSION
    timings: Timings = field(default_factory=Timings)
    checks: tuple[SentenceCheck, ...] = ()
    refusal_reason: RefusalReason | None = None
    # The translated question the sources were found with, when it matched them better.
    search_query: str | None = None
    # The follow-up rewritten from the conversation, which was searched, prompted and checked
    # instead of `question`; None when the question was used as asked.
    standalone_question: str | None = None
    # Where the answer was generated: a generation endpoint's base URL, `local:N` for worker
    # N of COFFRE_WORKERS; None for the one in-process model, or when nothing was generated.
    served_by: str | None = None


@dataclass(frozen=True)
class Retrieved:
    """The passages the answer will be drawn from (first event of every answer)."""

    hits: tuple[Hit, ...]
    search_query: str | None = None
    standalone_question: str | None = None  # see Answer.standalone_question


@dataclass(frozen=True)
class DraftText:
    """Raw text from the model, as generated: not checked against the sources yet."""

    text: str


@dataclass(frozen=True)
class CheckedSentence:
    """A sentence of the answer after its checks, ready for a client that cannot retract."""

    index: int
    text: str
    verified: bool


@dataclass(frozen=True)
class Finished:
    """The complete, checked answer (last event of every answer)."""

    answer: Answer


AnswerEvent = Retrieved | DraftText | CheckedSentence | Finished
