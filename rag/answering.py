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
from rag.citations import Citation, CitationBuilder, Sentence, parse_markers
from rag.generation import GenerationConfig, Generator, closing_stream
from rag.prompt import PROMPT_VERSION, build_prompt, check_messages
from rag.replies import (
    is_refusal,
    refusal_text,
    strip_echoed_instructions,
    strip_echoed_labels,
)
from rag.retrieval import Hit, Retriever, SearchMode
from rag.translation import QueryTranslator, Retrieval, match_strength
from rag.verification import SentenceCheck, row_corrections, supporting_sources, verify

_VERDICT = GenerationConfig(max_tokens=3, temperature=0.0)


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
    # The translated question the sources were found with, when it matched them better.
    search_query: str | None = None


def _joined(sentences: list[Sentence]) -> str:
    """Sentences back into one answer, each followed by its markers."""
    return " ".join(s.text + "".join(f" [{n}]" for n in s.markers) for s in sentences)


def _keep_verified(
    checks: list[SentenceCheck], citations: list[Citation], sentences: list[Sentence]
) -> tuple[str, list[Citation], list[SentenceCheck]]:
    """The answer rebuilt from its verified sentences, renumbered, with their citations."""
    kept = [c.index for c in checks if c.verified]
    renumber = {old: new for new, old in enumerate(kept)}
    text = _joined([sentences[i] for i in kept])
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
        translator: QueryTranslator | None = None,
    ) -> None:
        self.retriever = retriever
        self.generator = generator
        self.citations = citations
        self.config = config
        self.translator = translator

    def using(self, generator: Generator) -> Answerer:
        """The same answerer with another model, translating with it too."""
        translator = self.translator and QueryTranslator(
            generator, self.translator.language, self.translator.known
        )
        return Answerer(self.retriever, generator, self.citations, self.config, translator)

    def retrieve(
        self,
        question: str,
        search_filter: SearchFilter | None = None,
        top_k: int | None = None,
        mode: SearchMode | None = None,
    ) -> Retrieval:
        """The passages for a question; one outside the embedder's languages is also searched
        translated, and the phrasing whose passages match better (mean cosine) is kept.
        """
        started = time.perf_counter()
        top_k = top_k or self.config.top_k
        hits = self.retriever.search(question, top_k, search_filter, mode)
        translated = (
            self.translator.translate(question)
            if self.translator is not None and self.translator.needed(question) else None
        )
        if translated is not None:
            other = self.retriever.search(translated, top_k, search_filter, mode)
            if match_strength(other) > match_strength(hits):
                return Retrieval(other, translated, time.perf_counter() - started)
        return Retrieval(hits, None, time.perf_counter() - started)

    def ask(
        self,
        question: str,
        search_filter: SearchFilter | None = None,
        top_k: int | None = None,
        mode: SearchMode | None = None,
        retrieval: Retrieval | None = None,
    ) -> Answer:
        """Answer without streaming."""
        for event in self.stream(question, search_filter, top_k, mode, retrieval):
            if isinstance(event, Answer):
                return event
        raise AssertionError("stream ended without an answer")  # pragma: no cover

    def stream(
        self,
        question: str,
        search_filter: SearchFilter | None = None,
        top_k: int | None = None,
        mode: SearchMode | None = None,
        retrieval: Retrieval | None = None,
    ) -> Iterator[str | Answer]:
        """Yield text pieces as they are generated, then the complete Answer.

        `retrieval` skips retrieval (answer evaluation compares models on the same passages).
        """
        retrieval = retrieval or self.retrieve(question, search_filter, top_k, mode)
        # Times count from the start of retrieval, also when it ran before (evaluation).
        started = time.perf_counter() - retrieval.seconds
        timings = {"retrieval_s": retrieval.seconds}
        for event in self._answer(question, retrieval, timings, started):
            if isinstance(event, Answer):
                event.search_query = retrieval.search_query
            yield event

    def _answer(
        self, question: str, retrieval: Retrieval, timings: dict[str, float], started: float
    ) -> Iterator[str | Answer]:
        """Refuse on weak retrieval, else generate, cite, verify and check the answer."""
        hits = retrieval.hits
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
        with closing_stream(self.generator.stream(prompt.messages, self.config.generation)) as out:
            for piece in out:
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
        raw = strip_echoed_instructions(strip_echoed_labels(raw, prompt.sources))
        clean, sentences = parse_markers(raw, len(prompt.sources))
        fixed, citations, checks = self._checked(
            sentences, prompt.sources, question, retrieval.search_query
        )
        if fixed != sentences:
            clean, sentences = _joined(fixed), fixed
        if not any(c.verified for c in checks):
            yield self._refusal(question, prompt.sources, timings, started, "unverified")
            return
        # Judged in the passages' language when they were found through a translation.
        if self.config.answer_check and not self._confirmed(
            retrieval.search_query or question, citations, checks, prompt.sources, timings
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

    def _checked(
        self, sentences: list[Sentence], sources: list[Hit], question: str,
        translated_question: str | None,
    ) -> tuple[list[Sentence], list[Citation], list[SentenceCheck]]:
        """Cite and verify; a figure read off the wrong table row is corrected, then rechecked.

        The model named a row ("buy-to-let") and gave another row's figure (the second-home
        LTV): the named row's cell replaces it, and the reason records what the model wrote.
        """
        citations, checks = self._cite_and_verify(sentences, sources, question,
                                                  translated_question)
        fixes = row_corrections(checks, citations, sources, question)
        if not fixes:
            return sentences, citations, checks
        fixed = [replace(s, text=fixes.get(i, s.text)) for i, s in enumerate(sentences)]
        citations, checks = self._cite_and_verify(fixed, sources, question, translated_question)
        checks = [
            replace(c, reason=f"{c.reason}; figure corrected to the row it names (the model "
                              f"wrote: {sentences[c.index].text})") if c.index in fixes else c
            for c in checks
        ]
        return fixed, citations, checks

    def _cite_and_verify(
        self, sentences: list[Sentence], sources: list[Hit], question: str,
        translated_question: str | None = None,
    ) -> tuple[list[Citation], list[SentenceCheck]]:
        """Citations and checks; a citation the model got wrong is moved to the right source.

        Small models often write [2] where the fact is in [1]. When a sentence's own markers
        fail verification but other sources given to the model verify it, those become its
        citations (origin "repair"); a sentence no source verifies stays unverified.
        """
        threshold = self.config.verification_threshold
        scores = self.citations.scores(sentences, sources, question)
        read = sentences
        if translated_question is not None:
            read, scores = self._translated_support(sentences, sources, translated_question,
                                                    scores)
        citations = self.citations.build(read, sources, question, scores)
        checks = verify(sentences, citations, sources, threshold, question)
        repaired = False
        for check in checks:
            found = () if check.verified else supporting_sources(
                check.text, scores[check.index], sources, threshold, question)
            if found:
                citations = [c for c in citations if c.sentence != check.index] + [
                    self.citations.cite(check.index, number, read[check.index].text, sources,
                                        scores[check.index], "repair")
                    for number in found
                ]
                repaired = True
        if repaired:
            citations.sort(key=lambda c: (c.sentence, c.number))
            checks = verify(sentences, citations, sources, threshold, question)
        return citations, checks

    def _translated_support(
        self, sentences: list[Sentence], sources: list[Hit], translated_question: str,
        scores: list[list[float]],
    ) -> tuple[list[Sentence], list[list[float]]]:
        """The sentences in the translation's language, and each one's best support.

        Sources found through a translated question are in another language than the
        answer (which follows the question's): word overlap and the English-only embedder
        see little support across languages, so each sentence is also read translated, with
        the translated question, and the better support of the two readings counts. Numbers
        are still checked on the sentence as written.
        """
        assert self.translator is not None
        translated = [self.translator.translate(s.text) for s in sentences]
        read = [Sentence(text or s.text, s.markers)
                for s, text in zip(sentences, translated, strict=True)]
        other = self.citations.scores(read, sources, translated_question)
        # An untranslated sentence keeps its own support: the translated question alone
        # must not vouch for it.
        best = [[max(a, b) for a, b in zip(mine, theirs, strict=True)] if t else mine
                for mine, theirs, t in zip(scores, other, translated, strict=True)]
        return read, best

    def _refusal(
        self, question: str, hits: list[Hit], timings: dict[str, float], started: float,
        reason: str,
    ) -> Answer:
        timings.setdefault("first_token_s", time.perf_counter() - started)
        timings["total_s"] = time.perf_counter() - started
        return Answer(question, refusal_text(question), True, [], hits, self.generator.model_id,
                      timings=timings, refusal_reason=reason)
