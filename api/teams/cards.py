"""What an answer looks like in Teams: an Adaptive Card (1.5) of the checked answer and its
sources, in a message labelled as AI-generated, with the same sources as Teams citations.

A source is its number, title and page, a link to the passage view on Coffre's own server
(which asks the reader to sign in, and shows only what they may read), and, unless
COFFRE_TEAMS_QUOTES is off, the quoted passage. With quotes off no passage text goes to
Teams at all: not in the card, not in the citations.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from microsoft_agents.activity import (
    Activity,
    ActivityTypes,
    AIEntity,
    Attachment,
    ClientCitation,
    ClientCitationAppearance,
)

from api.links import passage_url
from rag.citations import Citation

ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
CARD_VERSION = "1.5"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
AI_GENERATED = "AIGeneratedContent"
SOURCES_HEADING = "Sources"
# Teams' limits on a citation: name 80 characters, abstract 160. Card quotes are cut too.
NAME_CHARS, ABSTRACT_CHARS, QUOTE_CHARS = 80, 160, 600


@dataclass(frozen=True)
class Source:
    """One numbered source of an answer, as a Teams reader sees it."""

    number: int
    title: str
    page: int | None
    quote: str
    url: str

    @property
    def place(self) -> str:
        """Title and page, e.g. `Retail credit policy, page 3`."""
        return self.title + (f", page {self.page}" if self.page is not None else "")


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def sources(citations: Iterable[Citation], base_url: str) -> list[Source]:
    """One source per number cited, in order (a number cited by several sentences: its first
    quote, as the chat completions' list of sources)."""
    first: dict[int, Citation] = {}
    for citation in sorted(citations, key=lambda c: (c.number, c.sentence)):
        first.setdefault(citation.number, citation)
    return [Source(n, c.title or c.source_path.rsplit("/", 1)[-1], c.page, c.quote,
                   passage_url(base_url, c))
            for n, c in first.items()]


def _text(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def _source_block(source: Source, quotes: bool) -> dict[str, Any]:
    # Brackets in a title would end the markdown link early.
    title = source.title.replace("[", "(").replace("]", ")")
    page = f", page {source.page}" if source.page is not None else ""
    items = [_text(f"[{source.number}] [{title}]({source.url}){page}")]
    if quotes and source.quote.strip():
        items.append(_text(f"“{_cut(source.quote, QUOTE_CHARS)}”", isSubtle=True,
                           spacing="None"))
    return {"type": "Container", "items": items, "spacing": "Small",
            "selectAction": {"type": "Action.OpenUrl", "url": source.url,
                             "title": f"Open source {source.number}"}}


def answer_card(text: str, cited: Sequence[Source], *, quotes: bool) -> dict[str, Any]:
    """The Adaptive Card of an answer: its text with `[n]` markers, then its sources."""
    body: list[dict[str, Any]] = [_text(text)]
    if cited:
        body.append(_text(SOURCES_HEADING, weight="Bolder", separator=True, spacing="Medium"))
        body.extend(_source_block(source, quotes) for source in cited)
    return {"type": "AdaptiveCard", "$schema": CARD_SCHEMA, "version": CARD_VERSION,
            "body": body, "msteams": {"width": "Full"}}


def ai_entity(cited: Sequence[Source], *, quotes: bool) -> AIEntity:
    """The message entity that labels a message AI-generated and lists its sources as Teams
    citations (the abstract is the quote, or only the title and page without quotes)."""
    citations = [
        ClientCitation(position=s.number, appearance=ClientCitationAppearance(
            name=_cut(s.title, NAME_CHARS), url=s.url,
            abstract=_cut(s.quote if quotes and s.quote.strip() else s.place, ABSTRACT_CHARS)))
        for s in cited
    ]
    # Every field set explicitly: the connector sends only fields that were set, and the
    # label is `additionalType`, whose default alone would be left out.
    if not citations:
        return AIEntity(type="https://schema.org/Message", additional_type=[AI_GENERATED])
    return AIEntity(type="https://schema.org/Message", additional_type=[AI_GENERATED],
                    citation=citations)


def answer_activity(text: str, cited: Sequence[Source], *, quotes: bool) -> Activity:
    """The reply carrying an answer: the card, the AI label and citations; the plain text as
    the summary that notifications and clients without cards show."""
    card = Attachment(content_type=ADAPTIVE_CARD, content=answer_card(text, cited, quotes=quotes))
    return Activity(type=ActivityTypes.message, summary=_cut(text, 250), attachments=[card],
                    entities=[ai_entity(cited, quotes=quotes)])


def refusal_activity(text: str) -> Activity:
    """Coffre's "I don't know": plain text, labelled AI-generated, no sources."""
    return Activity(type=ActivityTypes.message, text=text,
                    entities=[ai_entity((), quotes=False)])


def notice_activity(text: str) -> Activity:
    """What Coffre itself says (not the model): welcome, not registered, bad input."""
    return Activity(type=ActivityTypes.message, text=text, text_format="plain")


def typing_activity() -> Activity:
    """The typing indicator, sent first while the answer is worked out."""
    return Activity(type=ActivityTypes.typing)
