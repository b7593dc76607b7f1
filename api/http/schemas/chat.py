"""Bodies of the OpenAI-compatible routes (`/v1/chat/completions`, `/v1/models`), in
OpenAI's own wire format, and the text of an answer as a chat front end shows it.

Requests ignore the fields Coffre has no use for (`temperature`, `max_tokens`, `n`, `tools`,
`user`, ...) instead of rejecting them: every OpenAI client sends some. Responses carry one
field OpenAI's do not, `coffre` (the citations and checks), which clients ignore.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.http.schemas.annotations import Annotation
from api.http.schemas.ask import CitationOut, SentenceCheckOut
from indexes.errors import InputError
from rag.answers import Answer, Speaker, Turn, checked_question, readable
from rag.citations import Citation

MODEL_ID = "coffre"  # what front ends list and select: the assistant, whatever model runs it
# Where an answer's list of sources starts: added to answers, cut from history sent back.
SOURCES_HEADING = "\n\nSources:\n"

Role = Literal["system", "developer", "user", "assistant", "tool", "function"]


def _absent(value: object) -> bool:
    return value is None


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class TextPart(_Lenient):
    """A part of a message's content in OpenAI's newer format; only text is read."""

    type: Literal["text"]
    text: str


class ChatMessage(_Lenient):
    """One message of the conversation."""

    role: Role
    content: str | list[TextPart] | None = None

    @property
    def text(self) -> str:
        """The message's text, whichever content format it came in."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "\n".join(part.text for part in self.content)


class StreamOptions(_Lenient):
    """Streaming options: with `include_usage`, a last chunk carries the token counts."""

    include_usage: bool = False


class ChatRequest(_Lenient):
    """A chat completion request: the last user message is the question."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "model": MODEL_ID,
        "messages": [{"role": "user", "content": "How long is a valuation report valid for?"}],
    }]})

    model: str = Field(MODEL_ID, description="Any value: Coffre answers with its own model.")
    messages: list[ChatMessage] = Field(..., min_length=1)
    stream: bool = Field(False, description="Stream chat.completion.chunk server-sent events.")
    stream_options: StreamOptions | None = None

    def conversation(self) -> tuple[str, tuple[Turn, ...]]:
        """The question (the last user message) and the user and assistant turns before it.

        System messages are not read (Coffre's own prompt rules apply); an answer's list of
        sources, sent back in the history, is left out of its turn.
        """
        users = [i for i, m in enumerate(self.messages) if m.role == "user"]
        if not users:
            raise InputError("messages: no message with role 'user' (the question)")
        question = checked_question(self.messages[users[-1]].text.strip(),
                                    f"messages.{users[-1]}.content").strip()
        history = tuple(_turn(m) for m in self.messages[:users[-1]]
                        if m.role in ("user", "assistant") and m.text.strip())
        return question, history


def _turn(message: ChatMessage) -> Turn:
    text = readable(message.text, "messages")  # the union type lets a lone surrogate by
    if message.role == "assistant":
        text = text.split(SOURCES_HEADING, 1)[0]
    return Turn(Speaker(message.role), text.strip())


def sentence_piece(text: str, first: bool) -> str:
    """A checked sentence as it is appended to the content sent so far."""
    return text if first else " " + text


def closing_piece(answer: Answer) -> str:
    """What follows the sentences: the refusal text of a refused answer (which has no
    sentences), else the list of the sources cited, e.g. `- [1] Credit policy, page 3`."""
    return answer.text if answer.refused else sources_list(answer.citations)


def content(sentences: Sequence[str], answer: Answer) -> str:
    """The whole content of an answer, exactly as its stream sends it piece by piece."""
    return "".join(sentence_piece(s, i == 0) for i, s in enumerate(sentences)) + (
        closing_piece(answer))


def sources_list(citations: Iterable[Citation]) -> str:
    """One line per source number cited, after SOURCES_HEADING; empty with no citation."""
    first: dict[int, Citation] = {}
    for citation in sorted(citations, key=lambda c: c.number):
        first.setdefault(citation.number, citation)
    lines = [
        f"- [{n}] {c.title or c.source_path.rsplit('/', 1)[-1]}"
        + (f", page {c.page}" if c.page is not None else "")
        for n, c in first.items()
    ]
    return SOURCES_HEADING + "\n".join(lines) if lines else ""


class Usage(BaseModel):
    """Tokens of the question and history, and of the content sent, in the model's vocabulary."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int

    @classmethod
    def of(cls, prompt: int, completion: int) -> Usage:
        """From the two counts."""
        return cls(prompt_tokens=prompt, completion_tokens=completion,
                   total_tokens=prompt + completion)


class CoffreDetails(BaseModel):
    """Coffre's own part of a response: the full citations and each sentence's check."""

    refused: bool
    refusal_reason: str | None
    citations: list[CitationOut]
    sentences: list[SentenceCheckOut]
    standalone_question: str | None = Field(None, description=(
        "The follow-up rewritten with the earlier messages into the question that was "
        "searched and answered; null: the last user message was used as asked."))

    @classmethod
    def of(cls, answer: Answer) -> CoffreDetails:
        """From the core answer."""
        reason = answer.refusal_reason
        return cls(refused=answer.refused,
                   refusal_reason=reason.value if reason is not None else None,
                   citations=[CitationOut.of(c) for c in answer.citations],
                   sentences=[SentenceCheckOut.of(c) for c in answer.checks],
                   standalone_question=answer.standalone_question)


class AssistantMessage(BaseModel):
    """The answer, as the assistant's message."""

    role: Literal["assistant"] = "assistant"
    content: str
    annotations: list[Annotation] = Field(default_factory=list, description=(
        "Each [n] marker of the content as a url_citation linking to the cited passage."))


class Choice(BaseModel):
    """The one choice of a completion (`n` is ignored)."""

    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop"] = "stop"


class ChatCompletion(BaseModel):
    """A complete answer (`stream: false`)."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    coffre: CoffreDetails


class Delta(BaseModel):
    """What a chunk adds to the message: the role first, then pieces of content."""

    role: Literal["assistant"] | None = Field(default=None, exclude_if=_absent)
    content: str | None = Field(default=None, exclude_if=_absent)
    # On the chunk after the last sentence: every marker's url_citation, for the content
    # as a whole.
    annotations: list[Annotation] | None = Field(default=None, exclude_if=_absent)


class ChunkChoice(BaseModel):
    """The one choice of a chunk."""

    index: int = 0
    delta: Delta
    finish_reason: Literal["stop"] | None = None


class ChatCompletionChunk(BaseModel):
    """One server-sent event of a streamed answer (`data: {...}`)."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = Field(default=None, exclude_if=_absent)
    coffre: CoffreDetails | None = Field(default=None, exclude_if=_absent)


class ModelCard(BaseModel):
    """A model a client may name."""

    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "coffre"


class ModelList(BaseModel):
    """`GET /v1/models`."""

    object: Literal["list"] = "list"
    data: list[ModelCard]


class ErrorDetail(BaseModel):
    """An error, as OpenAI clients read it."""

    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorBody(BaseModel):
    """The body of every error of these routes, and of an error chunk in a stream."""

    error: ErrorDetail
