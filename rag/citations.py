"""Citations: parse the model's [n] markers, drop invented ones, attribute the rest.

Small models often omit markers, so a sentence without one is attributed to the source that
best supports it (word overlap and embedding similarity); every answer that is not a refusal
leaves with at least one citation, and each citation says whether the model or the
attribution produced it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from indexes.text import analyze, answer_sentences, passage_sentence_spans
from rag.injection import instruction_spans, without_instructions
from rag.retrieval import Hit

# A citation marker as the model writes it: [1], [1, 2], [2; 3] (group 1: the numbers).
# The one definition: whoever reads markers in a reply uses this one.
MARKER = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_MARKER = re.compile(r"\s*" + MARKER.pattern)
_LEADING_MARKERS = re.compile(rf"^(?:\s*{MARKER.pattern})+")
# A piece that is only a list marker or a bare number ("1.", "3)", "-", "•"): where a
# model's numbered list was cut. It claims nothing; it goes with the sentence after it.
_LIST_MARKER_BODY = r"(?:\(?\d+(?:[.,]\d+)?[.)]?|[A-Za-z][.)]|[ivxIVX]{1,4}[.)]|[-*•·–—]+)"
_LIST_MARKER_ONLY = re.compile(rf"^\s*{_LIST_MARKER_BODY}\s*$")
_TRAILING_LIST_MARKERS = re.compile(rf"(?:(?<=[.!?])|(?<=\n))(?:\s+{_LIST_MARKER_BODY})+\s*$")


class Origin(StrEnum):
    """What put a citation on a sentence."""

    MODEL = "model"  # a marker the model wrote
    ATTRIBUTION = "attribution"  # no marker: the source that supports the sentence best
    REPAIR = "repair"  # the model's marker pointed to a source that does not support it


@dataclass(frozen=True)
class Citation:
    """A source backing one sentence of an answer, down to the supporting span."""

    number: int
    sentence: int
    chunk_id: str
    doc_id: str
    title: str
    source_path: str
    page: int | None
    section: str
    quote: str
    start: int
    end: int
    origin: Origin
    support: float


@dataclass(frozen=True)
class Sentence:
    """A sentence of the answer with the valid source numbers the model gave it."""

    text: str
    markers: tuple[int, ...]


def parse_markers(answer: str, source_count: int) -> tuple[str, list[Sentence]]:
    """Answer text without invented markers, and its sentences with their valid markers."""

    def keep_valid(match: re.Match[str]) -> str:
        numbers = [int(n) for n in re.split(r"\s*[,;]\s*", match.group(1))]
        valid = [n for n in numbers if 1 <= n <= source_count]
        return (" [" + ", ".join(map(str, valid)) + "]") if valid else ""

    clean = _MARKER.sub(keep_valid, answer).strip()
    sentences: list[Sentence] = []
    for raw in answer_sentences(clean):
        leading = _LEADING_MARKERS.match(raw)
        if leading and sentences:
            # "… 75%. [1] Next": a marker after the full stop belongs to the sentence before.
            previous = sentences[-1]
            merged = tuple(dict.fromkeys((*previous.markers, *_numbers(leading.group(0)))))
            sentences[-1] = Sentence(previous.text, merged)
            raw = raw[leading.end():]
        text = _MARKER.sub("", raw).strip()
        if text:
            sentences.append(Sentence(text, tuple(dict.fromkeys(_numbers(raw)))))
    # A list marker the reply ends on starts nothing: it is not part of the answer.
    return _TRAILING_LIST_MARKERS.sub("", clean), _join_list_markers(sentences)


def _join_list_markers(sentences: list[Sentence]) -> list[Sentence]:
    """Sentences with each bare list marker put in front of the sentence after it; one
    with no sentence after it is dropped."""
    joined: list[Sentence] = []
    pending: list[Sentence] = []
    for sentence in sentences:
        if _LIST_MARKER_ONLY.match(sentence.text):
            pending.append(sentence)
            continue
        if pending:
            prefix = " ".join(p.text for p in pending)
            markers = tuple(dict.fromkeys(n for p in (*pending, sentence) for n in p.markers))
            sentence = Sentence(f"{prefix} {sentence.text}", markers)
            pending = []
        joined.append(sentence)
    return joined


def _numbers(text: str) -> list[int]:
    return [int(n) for m in _MARKER.finditer(text) for n in re.findall(r"\d+", m.group(1))]


def lexical_support(sentence: str, passage: str) -> float:
    """Share of the sentence's content words (stemmed) that the passage contains."""
    words = set(analyze(sentence))
    if not words:
        return 0.0
    return len(words & set(analyze(passage))) / len(words)


def best_span(sentence: str, passage: str) -> tuple[int, int]:
    """Character offsets of the passage sentence that overlaps `sentence` most.

    `passage` is read as verification reads it: a sentence that instructs the model is
    never quoted (nothing is, (0, 0), when the passage holds nothing else).
    """
    passage = without_instructions(passage)
    best = (0, len(passage) if passage.strip() else 0)
    best_score = -1.0
    for start, end in passage_sentence_spans(passage):
        text = passage[start:end]
        if not text.strip():
            continue
        score = lexical_support(sentence, text)
        if score > best_score:
            best, best_score = (start + len(text) - len(text.lstrip()), end), score
    return best


class CitationBuilder:
    """Turns an answer and the numbered sources it was given into citations."""

    def __init__(
        self,
        embed: Callable[[Sequence[str]], np.ndarray],
        similarity: Callable[[np.ndarray, list[int]], dict[int, float]],
        *,
        lexical_weight: float = 0.5,
        min_support: float = 0.35,
    ) -> None:
        self.embed = embed
        self.similarity = similarity
        self.lexical_weight = lexical_weight
        self.min_support = min_support

    def support(
        self, sentence: str, vector: np.ndarray, hits: Sequence[Hit],
        cleaned: dict[int, np.ndarray | None] | None = None,
    ) -> list[float]:
        """Support of a sentence by each source: lexical and embedding similarity blended.

        Both read the passage without the sentences that instruct the model: an injected
        sentence must not vouch for an answer that repeats it. The stored vector of such a
        passage embeds the injection too, so its cosine is taken against `cleaned` (from
        `cleaned_vectors`), embedded without it, when given.
        """
        cleaned = cleaned if cleaned is not None else self.cleaned_vectors(hits)
        rowids = [h.stored.chunk.rowid for h in hits if h.stored.chunk.rowid not in cleaned]
        cosines = self.similarity(vector, rowids)
        cosines |= {rowid: 0.0 if clean is None else float(np.dot(clean, vector))
                    for rowid, clean in cleaned.items()}
        return [
            self.lexical_weight * lexical_support(sentence,
                                                  without_instructions(h.stored.chunk.text))
            + (1 - self.lexical_weight) * max(0.0, cosines.get(h.stored.chunk.rowid, 0.0))
            for h in hits
        ]

    def cleaned_vectors(self, hits: Sequence[Hit]) -> dict[int, np.ndarray | None]:
        """By rowid, the vectors of the passages that instruct the model, embedded without
        those sentences (None: nothing else is left); {} when no passage does."""
        dirty = {h.stored.chunk.rowid: without_instructions(h.stored.chunk.text)
                 for h in hits if instruction_spans(h.stored.chunk.text)}
        readable = [rowid for rowid, text in dirty.items() if text.strip()]
        vectors = list(self.embed([dirty[rowid] for rowid in readable])) if readable else []
        found: dict[int, np.ndarray] = dict(zip(readable, vectors, strict=True))
        return {rowid: found.get(rowid) for rowid in dirty}

    def scores(
        self, sentences: Sequence[Sentence], hits: Sequence[Hit], question: str = ""
    ) -> list[list[float]]:
        """Support of each sentence (read with its question) by each source."""
        if not sentences or not hits:
            return [[] for _ in sentences]
        claims = [f"{question} {s.text}".strip() for s in sentences]
        vectors = self.embed(claims)
        cleaned = self.cleaned_vectors(hits)
        return [self.support(claim, vector, hits, cleaned)
                for claim, vector in zip(claims, vectors, strict=True)]

    def build(
        self,
        sentences: Sequence[Sentence],
        hits: Sequence[Hit],
        question: str = "",
        scores: Sequence[Sequence[float]] | None = None,
    ) -> list[Citation]:
        """Citations for every sentence; at least one when there are sentences and sources.

        A sentence is read with the question it answers: "6 months." claims nothing alone,
        "How long is a valuation valid? 6 months." is what a passage must support.
        `scores` (from `scores`) saves embedding the sentences twice.
        """
        if not sentences or not hits:
            return []
        scores = scores if scores is not None else self.scores(sentences, hits, question)
        citations: list[Citation] = []
        best_overall: tuple[float, int, int] = (-1.0, 0, 0)
        for index, sentence in enumerate(sentences):
            row = scores[index]
            for number in sentence.markers:
                citations.append(self.cite(index, number, sentence.text, hits, row, Origin.MODEL))
            best = int(np.argmax(row))
            best_overall = max(best_overall, (row[best], index, best + 1))
            if not sentence.markers and row[best] >= self.min_support:
                citations.append(self.cite(index, best + 1, sentence.text, hits, row,
                                           Origin.ATTRIBUTION))
        if not citations:
            _, index, number = best_overall
            citations.append(self.cite(index, number, sentences[index].text, hits,
                                       scores[index], Origin.ATTRIBUTION))
        return citations

    @staticmethod
    def cite(
        index: int, number: int, sentence: str, hits: Sequence[Hit], scores: Sequence[float],
        origin: Origin,
    ) -> Citation:
        """A citation of source `number` (1-based) for sentence `index`, with its best span."""
        chunk, document = hits[number - 1].stored.chunk, hits[number - 1].stored.document
        start, end = best_span(sentence, chunk.text)
        return Citation(
            number=number, sentence=index, chunk_id=chunk.chunk_id, doc_id=document.doc_id,
            title=document.title, source_path=document.source_path, page=chunk.page,
            section=chunk.section, quote=chunk.text[start:end], start=start, end=end,
            origin=origin, support=round(scores[number - 1], 4),
        )
