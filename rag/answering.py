"""The answering core: search, decide whether to answer, prompt, generate, check.

Every channel (HTTP, streaming, CLI, later the Teams bot) goes through `Answerer.stream`,
which yields the passages found, the model's text as it is generated, the answer's sentences
once checked, and last the finished Answer (see rag/answers.py for the events).
"""

from __future__ import annotations

import collections.abc
import functools
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from rag.answers import (
    Answer,
    AnswerEvent,
    CheckedSentence,
    DraftText,
    Finished,
    Query,
    RefusalReason,
    Retrieved,
    Timings,
)
from rag.checking import (
    Checked,
    Grounds,
    TranslatedReading,
    check_sentences,
    cited_passages_answer,
    keep_verified,
    sentence_text,
)
from rag.citations import CitationBuilder, parse_markers
from rag.generation import GenerationConfig, Generator, closing_stream
from rag.prompt import Prompt, build_prompt
from rag.replies import is_refusal, refusal_text, strip_echoed_instructions, strip_echoed_labels
from rag.retrieval import Hit
from rag.search import Retrieval, Searcher

__all__ = ["Answer", "AnswerConfig", "Answerer"]  # Answer re-exported for older imports


@dataclass(frozen=True)
class AnswerConfig:
    """How many sources to give the model, when to refuse, and how to generate."""

    top_k: int = 4
    min_relevance: float = 0.25
    verification_threshold: float = 0.35
    drop_unverified: bool = False
    answer_check: bool = True
    generation: GenerationConfig = field(default_factory=GenerationConfig)


@dataclass(frozen=True)
class _Asked:
    """One question being answered: what was found for it, and when its answer started."""

    question: str
    retrieval: Retrieval
    started: float  # time.perf_counter() at the start of retrieval


@dataclass(frozen=True)
class _Draft:
    """What the model wrote, and when (seconds from the start of retrieval)."""

    text: str = ""
    first_token_s: float | None = None
    decode_s: float | None = None
    tokens: int = 0


@dataclass(frozen=True)
class _Accepted:
    """An answer that passed its checks: its checked sentences and its text."""

    checked: Checked
    text: str
    answer_check_s: float | None = None


@dataclass(frozen=True)
class _Refused:
    """An answer that became "I don't know", and why."""

    reason: RefusalReason
    answer_check_s: float | None = None


class Answerer:
    """Answers questions from the index with a generator, citing every claim."""

    def __init__(
        self, searcher: Searcher, generator: Generator, citations: CitationBuilder,
        config: AnswerConfig,
    ) -> None:
        self.searcher = searcher
        self.generator = generator
        self.citations = citations
        self.config = config

    def using(self, generator: Generator) -> Answerer:
        """The same answerer with another model, translating with it too."""
        return Answerer(self.searcher.using(generator), generator, self.citations, self.config)

    def ask(self, query: Query, retrieval: Retrieval | None = None) -> Answer:
        """Answer without streaming: the Finished answer of `stream`."""
        with closing_stream(self.stream(query, retrieval)) as events:
            for event in events:
                if isinstance(event, Finished):
                    return event.answer
        raise AssertionError("stream ended without an answer")  # pragma: no cover

    def stream(self, query: Query, retrieval: Retrieval | None = None) -> Iterator[AnswerEvent]:
        """Yield Retrieved, DraftText pieces as generated, CheckedSentences, then Finished.

        `retrieval` skips retrieval (answer evaluation compares models on the same passages).
        A refusal yields no CheckedSentence; one refused before generation (nothing relevant
        found) yields its refusal text as the only DraftText.
        """
        if retrieval is None:
            top_k = query.top_k or self.config.top_k
            retrieval = self.searcher.search(query.question, top_k, query.search_filter,
                                             query.mode)
        # Times count from the start of retrieval, also when it ran before (evaluation).
        asked = _Asked(query.question, retrieval, time.perf_counter() - retrieval.seconds)
        yield Retrieved(retrieval.hits, retrieval.search_query)
        answer, checked = yield from self._answer(asked)
        if checked is not None:
            for sentence, check in zip(checked.sentences, checked.checks, strict=True):
                yield CheckedSentence(check.index, sentence_text(sentence), check.verified)
        yield Finished(answer)

    def _answer(
        self, asked: _Asked
    ) -> collections.abc.Generator[DraftText, None, tuple[Answer, Checked | None]]:
        """Refuse on weak retrieval, else generate, then check what the model wrote."""
        hits = asked.retrieval.hits
        if max((h.vector_score or 0.0 for h in hits), default=0.0) < self.config.min_relevance:
            yield DraftText(refusal_text(asked.question))
            return self._finish(asked, hits, _Draft(), _Refused(RefusalReason.RELEVANCE))
        budget = self.generator.context_size - self.config.generation.max_tokens
        prompt = build_prompt(
            asked.question, hits, budget_tokens=budget, count_tokens=self.generator.count_tokens
        )
        draft = yield from self._generate(prompt, asked.started)
        raw = draft.text.strip()
        outcome = (
            _Refused(RefusalReason.MODEL) if not raw or is_refusal(raw)
            else self._checked(asked, raw, prompt.sources)
        )
        return self._finish(asked, prompt.sources, draft, outcome)

    def _generate(
        self, prompt: Prompt, started: float
    ) -> collections.abc.Generator[DraftText, None, _Draft]:
        """Stream the model's pieces as DraftText; the model is freed however this ends."""
        pieces: list[str] = []
        first: float | None = None
        with closing_stream(self.generator.stream(prompt.messages, self.config.generation)) as out:
            for piece in out:
                if first is None:
                    first = time.perf_counter() - started
                pieces.append(piece)
                yield DraftText(piece)
        if first is None:
            return _Draft()
        # Each streamed piece is one token: decoding speed for the model comparison.
        decode_s = time.perf_counter() - started - first
        return _Draft("".join(pieces), first, decode_s, len(pieces))

    def _checked(
        self, asked: _Asked, raw: str, sources: tuple[Hit, ...]
    ) -> _Accepted | _Refused:
        """Cite, verify and judge the model's reply; the answer text, or why it is refused."""
        raw = strip_echoed_instructions(strip_echoed_labels(raw, sources))
        clean, sentences = parse_markers(raw, len(sources))
        checked = check_sentences(sentences, self._grounds(asked, sources))
        if not any(c.verified for c in checked.checks):
            return _Refused(RefusalReason.UNVERIFIED)
        check_s = None
        if self.config.answer_check:
            began = time.perf_counter()
            # Judged in the passages' language when they were found through a translation.
            question = asked.retrieval.search_query or asked.question
            confirmed = cited_passages_answer(self.generator, question, checked, sources)
            check_s = time.perf_counter() - began
            if not confirmed:
                return _Refused(RefusalReason.ANSWER_CHECK, check_s)
        if self.config.drop_unverified:
            checked = keep_verified(checked)
        # The model's own text unless a check changed its sentences.
        changed = self.config.drop_unverified or checked.sentences != tuple(sentences)
        return _Accepted(checked, checked.text if changed else clean, check_s)

    def _grounds(self, asked: _Asked, sources: tuple[Hit, ...]) -> Grounds:
        """What the sentences are checked against; read translated when the sources were
        found through a translation (each sentence translated once per answer).
        """
        translator = self.searcher.translator
        search_query = asked.retrieval.search_query
        reading = None
        if search_query is not None and translator is not None:
            reading = TranslatedReading(search_query, functools.cache(translator.translate))
        return Grounds(sources, asked.question, self.citations,
                       self.config.verification_threshold, reading)

    def _finish(
        self, asked: _Asked, sources: tuple[Hit, ...], draft: _Draft,
        outcome: _Accepted | _Refused,
    ) -> tuple[Answer, Checked | None]:
        """The Answer with its timings (built once, now), and its checked sentences."""
        total_s = time.perf_counter() - asked.started
        timings = Timings(
            retrieval_s=asked.retrieval.seconds,
            # A refusal before any token was generated counts its own time as the first.
            first_token_s=draft.first_token_s if draft.first_token_s is not None else total_s,
            decode_s=draft.decode_s, answer_tokens=draft.tokens,
            answer_check_s=outcome.answer_check_s, total_s=total_s,
        )
        question, model = asked.question, self.generator.model_id
        if isinstance(outcome, _Refused):
            refusal = Answer(question, refusal_text(question), True, (), sources, model,
                             timings=timings, refusal_reason=outcome.reason,
                             search_query=asked.retrieval.search_query)
            return refusal, None
        checked = outcome.checked
        answer = Answer(question, outcome.text, False, checked.citations, sources, model,
                        timings=timings, checks=checked.checks,
                        search_query=asked.retrieval.search_query)
        return answer, checked
