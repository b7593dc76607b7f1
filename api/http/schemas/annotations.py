"""OpenAI `url_citation` annotations of an answer: each `[n]` marker in the content, linked
to the cited passage in Coffre's on-premise passage view (api/links.py).

Chat front ends that read annotations (the field OpenAI's web search fills) show these as
links; the others still have the markers and the list of sources in the text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel

from api.links import passage_url
from rag.answers import Answer
from rag.citations import MARKER, Citation


class URLCitation(BaseModel):
    """Where a marker sits in the content, and the passage it links to."""

    start_index: int
    end_index: int
    title: str
    url: str


class Annotation(BaseModel):
    """One annotation of the assistant's message, in OpenAI's format."""

    type: Literal["url_citation"] = "url_citation"
    url_citation: URLCitation


def url_citations(sentences: Sequence[str], answer: Answer, base_url: str) -> list[Annotation]:
    """An annotation for each source number of each marker in the content the sentences
    start (joined by one space, as they are sent): sentence i's [n] links to the passage
    of source n quoted for sentence i."""
    found: list[Annotation] = []
    offset = 0
    for index, sentence in enumerate(sentences):
        for match in MARKER.finditer(sentence):
            for number in (int(n) for n in re.findall(r"\d+", match.group(1))):
                citation = _citation(answer.citations, index, number)
                if citation is not None:
                    found.append(_annotation(citation, offset + match.start(),
                                             offset + match.end(), base_url))
        offset += len(sentence) + 1
    return found


def _citation(citations: Sequence[Citation], sentence: int, number: int) -> Citation | None:
    """The citation of source `number` for that sentence, else for any sentence."""
    same = [c for c in citations if c.number == number]
    return next((c for c in same if c.sentence == sentence), same[0] if same else None)


def _annotation(citation: Citation, start: int, end: int, base_url: str) -> Annotation:
    title = citation.title or citation.source_path.rsplit("/", 1)[-1]
    if citation.page is not None:
        title += f", page {citation.page}"
    return Annotation(url_citation=URLCitation(start_index=start, end_index=end, title=title,
                                               url=passage_url(base_url, citation)))
