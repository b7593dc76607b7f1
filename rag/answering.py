"""The answering core: retrieve, decide whether to answer, prompt, generate, cite.

Every channel (HTTP, streaming, CLI, later the Teams bot) goes through `Answerer.stream`,
which yields the answer's text pieces as they are generated and ends with the full Answer.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from indexes.filters import SearchFilter
from indexes.text import detect_language
from rag.citations import Citation, CitationBuilder, Sentence, parse_markers
from rag.generation import GenerationConfig, Generator
from rag.prompt import (
    PROMPT_VERSION,
    REFUSAL_EN,
    REFUSAL_FR,
    build_prompt,
    check_messages,
    source_label,
)
from rag.retrieval import Hit, Retriever, SearchMode
from rag.verification import SentenceCheck, supporting_sources, verify

_VERDICT = GenerationConfig(max_tokens=3, temperature=0.0)
_REFUSAL_MARKERS = ("i don't know", "i do not know", "je ne sais pas")
_SILENT_SOURCES = re.compile(
    r"not (?:mentioned|stated|specified|provided|given|found|included|available)"
    r"|(?:sources|documents|context) (?:do|does) not (?:contain|mention|state|say|specify)"
    r"|no information|cannot find|can't find"
    r"|n'est pas (?:mentionn|précis|indiqu)|ne (?:mentionnent|précisent|contiennent) pas"
    r"|aucune information"
)


@dataclass(frozen=True)
class AnswerConfig:
    """How many sources to give the model, when to refuse, and how to generate."""

    top_k: int = 4
    min_relevance: float = 0.25
    verification_threshold: float = 0.35
    drop_unverified: bool = False
    answer_check: bool = True
    generation: GenerationConfig = field(default_factory=GenerationConfig)


@dataclass
class Answer:
    """An answer with its citations, the sources it was given, and how long it took."""

    question: str
    text: str
    refused: bool
    citations: list[Citation]
    sources: list[Hit]
    model: str
    prompt_version: str = PROMPT_VERSION
    timings: dict[str, float] = field(default_factory=dict)
    checks: list[SentenceCheck] = field(default_factory=list)
    # Why Coffre said "I don't know": "relevance", "model", "unverified" or "answer-check".
    refusal_reason: str | None = None


def refusal_text(question: str) -> str:
    """The explicit "I don't know" in the question's language."""
    return REFUSAL_FR if detect_language(question) == "fr" else REFUSAL_EN


def strip_echoed_labels(text: str, sources: list[Hit]) -> str:
    """Remove source headers the model copied into its answer ("[1] Title, section, page 2").

    Small models often start by repeating the header of the source they use; the marker is
    kept (it is a citation), the header text is not part of the answer.
    """
    for hit in sources:
        label = source_label(hit)
        if len(label) >= 8:
            text = text.replace(label, "")
    return re.sub(r"[ \t]{2,}", " ", text).strip()


def is_refusal(text: str) -> bool:
    """True when the model said it does not know, or opened by saying the sources are silent.

    "X is not mentioned in the sources" as a first sentence is a refusal in other words; the
    same phrase later in an answer only qualifies what came before, and is kept.
    """
    lowered = text.lower().replace("’", "'")
    if any(marker in lowered for marker in _REFUSAL_MARKERS):
        return True
    first = re.split(r"(?<=[.!?])\s", lowered.strip(), maxsplit=1)[0]
    return bool(_SILENT_SOURCES.search(first))


def _keep_verified(
    checks: list[SentenceCheck], citations: list[Citation], sentences: list[Sentence]
) -> tuple[str, list[Citation], list[SentenceCheck]]:
    """The answer rebuilt from its verified sentences, renumbered, with their citations."""
    kept = [c.index for c in checks if c.verified]
    renumber = {old: new for new, old in enumerate(kept)}
    text = " ".join(
        sentences[i].text + "".join(f" [{n}]" for n in sentences[i].markers) for i in kept
    )
    cited = [replace(c, sentence=renumber[c.sentence]) for c in citations if c.sentence in renumber]
    verified = [replace(c, index=renumber[c.index]) for c in checks if c.verified]
    return text, cited, verified


class Answerer:
    """Answers questions from the index with a generator, citing every claim."""

    def __init__(
        self,
        retriever: Retriever,
        generator: Generator,
        citations: CitationBuilder,
        config: AnswerConfig,
    ) -> None:
        self.retriever = retriever
        self.generator = generator
        self.citations = citations
        self.config = config

    def ask(
        self,
        question: str,
        search_filter: SearchFilter | None = None,
        top_k: int | None = None,
        mode: SearchMode | None = None,
        hits: list[Hit] | None = None,
    ) -> Answer:
        """Answer without streaming."""
        for event in self.stream(question, search_filter, top_k, mode, hits):
            if isinstance(event, Answer):
                return event
        raise AssertionError("stream ended without an answer")  # pragma: no cover

    def stream(
        self,
        question: str,
        search_filter: SearchFilter | None = None,
        top_k: int | None = None,
        mode: SearchMode | None = None,
        hits: list[Hit] | None = None,
    ) -> Iterator[str | Answer]:
        """Yield text pieces as they are generated, then the complete Answer.

        `hits` skips retrieval (answer evaluation compares models on the same passages).
        """
        started = time.perf_counter()
        if hits is None:
            hits = self.retriever.search(
                question, top_k or self.config.top_k, search_filter, mode
            )
        timings = {"retrieval_s": time.perf_counter() - started}
        relevance = max((h.vector_score or 0.0 for h in hits), default=0.0)
        if relevance < self.config.min_relevance:
            text = refusal_text(question)
            yield text
            yield self._refusal(question, hits, timings, started, "relevance")
            return
        budget = self.generator.context_size - self.config.generation.max_tokens
        prompt = build_prompt(
            question, hits, budget_tokens=budget, count_tokens=self.generator.count_tokens
        )
        pieces: list[str] = []
        for piece in self.generator.stream(prompt.messages, self.config.generation):
            if not pieces:
                timings["first_token_s"] = time.perf_counter() - started
            pieces.append(piece)
            yield piece
        if pieces:
            # Each streamed piece is one token: decoding speed for the model comparison.
            timings["answer_tokens"] = float(len(pieces))
            timings["decode_s"] = time.perf_counter() - started - timings["first_token_s"]
        raw = "".join(pieces).strip()
        if not raw or is_refusal(raw):
            yield self._refusal(question, prompt.sources, timings, started, "model")
            return
        raw = strip_echoed_labels(raw, prompt.sources)
        clean, sentences = parse_markers(raw, len(prompt.sources))
        citations, checks = self._cite_and_verify(sentences, prompt.sources, question)
        if not any(c.verified for c in checks):
            yield self._refusal(question, prompt.sources, timings, started, "unverified")
            return
        if self.config.answer_check and not self._confirmed(
            question, citations, checks, prompt.sources, timings
        ):
            yield self._refusal(question, prompt.sources, timings, started, "answer-check")
            return
        if self.config.drop_unverified:
            clean, citations, checks = _keep_verified(checks, citations, sentences)
        timings["total_s"] = time.perf_counter() - started
        yield Answer(question, clean, False, citations, prompt.sources,
                     self.generator.model_id, timings=timings, checks=checks)

    def _confirmed(
        self, question: str, citations: list[Citation], checks: list[SentenceCheck],
        sources: list[Hit], timings: dict[str, float],
    ) -> bool:
        """Ask the model whether the passages the answer cites answer the question.

        Small models answer a near question when the asked one is not covered (the fee of
        another card, the limit of another product). Judging a passage against a question
        is easier for them than refraining from answering. Anything but a "no" keeps it.
        When every cited passage together gets a "no", the passages of the first verified
        sentence (where the answer itself is) are judged alone: a second passage cited for
        a side remark should not sink a right answer (measured on the demo set: one
        wrong refusal fewer, no unanswerable question let through).
        """
        started = time.perf_counter()
        cited = sorted({c.number for c in citations})
        first = min(c.index for c in checks if c.verified)
        main = sorted({c.number for c in citations if c.sentence == first})
        confirmed = self._says_yes(question, [sources[n - 1] for n in cited]) or (
            main != cited and self._says_yes(question, [sources[n - 1] for n in main])
        )
        timings["answer_check_s"] = time.perf_counter() - started
        return confirmed

    def _says_yes(self, question: str, passages: list[Hit]) -> bool:
        """One judgement in a fresh context: do these passages answer the question?"""
        messages = check_messages(question, [hit.stored.chunk.text for hit in passages])
        verdict = "".join(self.generator.stream(messages, _VERDICT)).strip().lower()
        return not re.match(r"\W*(no|non)\b", verdict)

    def _cite_and_verify(
        self, sentences: list[Sentence], sources: list[Hit], question: str
    ) -> tuple[list[Citation], list[SentenceCheck]]:
        """Citations and checks; a citation the model got wrong is moved to the right source.

        Small models often write [2] where the fact is in [1]. When a sentence's own markers
        fail verification but other sources given to the model verify it, those become its
        citations (origin "repair"); a sentence no source verifies stays unverified.
        """
        threshold = self.config.verification_threshold
        scores = self.citations.scores(sentences, sources, question)
        citations = self.citations.build(sentences, sources, question, scores)
        checks = verify(sentences, citations, sources, threshold)
        repaired = False
        for check in checks:
            found = () if check.verified else supporting_sources(
                check.text, scores[check.index], sources, threshold)
            if found:
                citations = [c for c in citations if c.sentence != check.index] + [
                    self.citations.cite(check.index, number, check.text, sources,
                                        scores[check.index], "repair")
                    for number in found
                ]
                repaired = True
        if repaired:
            citations.sort(key=lambda c: (c.sentence, c.number))
            checks = verify(sentences, citations, sources, threshold)
        return citations, checks

    def _refusal(
        self, question: str, hits: list[Hit], timings: dict[str, float], started: float,
        reason: str,
    ) -> Answer:
        timings.setdefault("first_token_s", time.perf_counter() - started)
        timings["total_s"] = time.perf_counter() - started
        return Answer(question, refusal_text(question), True, [], hits, self.generator.model_id,
                      timings=timings, refusal_reason=reason)
