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
from rag.followup import Rewrite, rewrite_follow_up
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
    history_tokens: int = 512  # newest conversation turns a follow-up is rewritten from
    generation: GenerationConfig = field(default_factory=GenerationConfig)


@dataclass(frozen=True)
class _Asked:
    """One question being answered: what was found for it, and when its answer started."""

    question: str  # as asked
    retrieval: Retrieval
    started: float  # time.perf_counter() at the start of the rewrite, else of retrieval
    rewrite: Rewrite | None = None  # a follow-up's rewrite, when one ran

    @property
    def standalone(self) -> str | None:
        """The follow-up rewritten to stand alone, when it was."""
        return self.rewrite.question if self.rewrite is not None else None

    @property
    def used(self) -> str:
        """The question searched, prompted and checked: the standalone one, else as asked."""
        return self.standalone or self.question


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

        A question with history is first rewritten to stand alone (rag/followup.py); the
        rewrite is what is searched, prompted and checked. `retrieval` skips retrieval
        (answer evaluation compares models on the same passages). A refusal yields no
        CheckedSentence; one refused before generation (nothing relevant found) yields its
        refusal text as the only DraftText.
        """
        rewrite = self._rewrite(query)
        if retrieval is None:
            top_k = query.top_k or self.config.top_k
            searched = rewrite.question if rewrite is not None else None
            retrieval = self.searcher.search(searched or query.question, top_k,
                                             query.search_filter, query.mode)
        # Times count from the start of the rewrite or retrieval, also when retrieval ran
        # before (evaluation).
        spent = retrieval.seconds + (rewrite.seconds if rewrite is not None else 0.0)
        asked = _Asked(query.question, retrieval, time.perf_counter() - spent, rewrite)
        yield Retrieved(retrieval.hits, retrieval.search_query, asked.standalone)
        answer, checked = yield from self._answer(asked)
        if checked is not None:
            for sentence, check in zip(checked.sentences, checked.checks, strict=True):
                yield CheckedSentence(check.index, sentence_text(sentence), check.verified)
        yield Finished(answer)

    def _rewrite(self, query: Query) -> Rewrite | None:
        """A follow-up's standalone rewrite; without history the model is not asked."""
        if not query.history:
            return None
        return rewrite_follow_up(self.generator, query.question, query.history,
                                 budget_tokens=self.config.history_tokens,
                                 language=query.language)

    def _answer(
        self, asked: _Asked
    ) -> collections.abc.Generator[DraftText, None, tuple[Answer, Checked | None]]:
        """Refuse on weak retrieval, else generate, then check what the model wrote."""
        hits = asked.retrieval.hits
        if max((h.vector_score or 0.0 for h in hits), default=0.0) < self.config.min_relevance:
            yield DraftText(refusal_text(asked.used))
            return self._finish(asked, hits, _Draft(), _Refused(RefusalReason.RELEVANCE))
        budget = self.generator.context_size - self.config.generation.max_tokens
        prompt = build_prompt(
            asked.used, hits, budget_tokens=budget, count_tokens=self.generator.count_tokens
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
            question = asked.retrieval.search_query or asked.used
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
        return Grounds(sources, asked.used, self.citations,
                       self.config.verification_threshold, reading)

    def _finish(
        self, asked: _Asked, sources: tuple[Hit, ...], draft: _Draft,
        outcome: _Accepted | _Refused,
    ) -> tuple[Answer, Checked | None]:
        """The Answer with its timings (built once, now), and its checked sentences."""
        total_s = time.perf_counter() - asked.started
        timings = Timings(
            rewrite_s=asked.rewrite.seconds if asked.rewrite is not None else None,
            retrieval_s=asked.retrieval.seconds,
            # A refusal before any token was generated counts its own time as the first.
            first_token_s=draft.first_token_s if draft.first_token_s is not None else total_s,
            decode_s=draft.decode_s, answer_tokens=draft.tokens,
            answer_check_s=outcome.answer_check_s, total_s=total_s,
        )
        question, model = asked.question, self.generator.model_id
        search_query, standalone = asked.retrieval.search_query, asked.standalone
        if isinstance(outcome, _Refused):
            # Said in the language of the question used (a bare "Lyon ?" in a French talk).
            refusal = Answer(question, refusal_text(asked.used), True, (), sources, model,
                             timings=timings, refusal_reason=outcome.reason,
                             search_query=search_query, standalone_question=standalone)
            return refusal, None
        checked = outcome.checked
        answer = Answer(question, outcome.text, False, checked.citations, sources, model,
                        timings=timings, checks=checked.checks, search_query=search_query,
                        standalone_question=standalone)
        return answer, checked
