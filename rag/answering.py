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
from rag.checking import Checked, Grounds, TranslatedReading, passages_answer
from rag.citations import CitationBuilder
from rag.followup import Rewrite, rewrite_follow_up
from rag.generation import GenerationConfig, Generator, closing_stream, continued, served_by
from rag.prompt import Prompt, build_prompt
from rag.release import SentenceRelease, Verdicts
from rag.replies import refusal_text
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
    check_s: float = 0.0  # the answer check asked while generation paused
    served_by: str | None = None  # the endpoint or worker of its first piece


@dataclass(frozen=True)
class _Accepted:
    """An answer that passed its checks: its checked sentences and its text."""

    checked: Checked
    text: str
    answer_check_s: float | None = None
    first_sentence_s: float | None = None  # when its first checked sentence could be sent


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
        answer = yield from self._answer(asked)
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
    ) -> collections.abc.Generator[DraftText | CheckedSentence, None, Answer]:
        """Refuse on weak retrieval, else generate, letting each sentence go once checked."""
        hits = asked.retrieval.hits
        if max((h.vector_score or 0.0 for h in hits), default=0.0) < self.config.min_relevance:
            yield DraftText(refusal_text(asked.used))
            return self._finish(asked, hits, _Draft(), _Refused(RefusalReason.RELEVANCE))
        budget = self.generator.context_size - self.config.generation.max_tokens
        prompt = build_prompt(
            asked.used, hits, budget_tokens=budget, count_tokens=self.generator.count_tokens
        )
        release = SentenceRelease(self._grounds(asked, prompt.sources),
                                  drop_unverified=self.config.drop_unverified,
                                  answer_check=self.config.answer_check)
        draft = yield from self._generate(asked, prompt, release)
        yield from release.read(draft.text, final=True)
        final_check_s = yield from self._final_verdict(asked, prompt.sources, release)
        check_s = draft.check_s + final_check_s if release.verdicts != Verdicts() else None
        return self._finish(asked, prompt.sources, draft,
                            self._outcome(asked, release, check_s))

    def _generate(
        self, asked: _Asked, prompt: Prompt, release: SentenceRelease
    ) -> collections.abc.Generator[DraftText | CheckedSentence, None, _Draft]:
        """Stream the model's pieces as DraftText and the sentences checked on the way.

        At the first verified sentence, generation pauses (the model is freed) while the
        model judges that sentence's passages, then goes on from the text written so far;
        a reply that opens with "I don't know" is not generated further.
        """
        pieces: list[str] = []
        first: float | None = None
        check_s = 0.0
        served: str | None = None  # a paused answer may go on elsewhere: the first counts
        while True:
            messages = continued(prompt.messages, "".join(pieces))
            paused = False
            with closing_stream(self.generator.stream(messages, self.config.generation)) as out:
                for piece in out:
                    first = first if first is not None else time.perf_counter() - asked.started
                    served = served or served_by(out)
                    pieces.append(piece)
                    yield DraftText(piece)
                    yield from release.read("".join(pieces))
                    paused = release.needs_verdict
                    if paused or release.refusing:
                        break
            if not paused:
                break
            began = time.perf_counter()
            yes = self._passages_answer(asked, release.main_sources(), prompt.sources)
            check_s += time.perf_counter() - began
            yield from release.judge_main(yes)
        if first is None:
            return _Draft(check_s=check_s)
        # Each streamed piece is one token: decoding speed for the model comparison.
        decode_s = time.perf_counter() - asked.started - first - check_s
        return _Draft("".join(pieces), first, decode_s, len(pieces), check_s, served)

    def _final_verdict(
        self, asked: _Asked, sources: tuple[Hit, ...], release: SentenceRelease
    ) -> collections.abc.Generator[CheckedSentence, None, float]:
        """The answer check not given during generation (the first verified sentence was the
        last), then, on a "no", every passage cited judged together; the seconds it took."""
        began = time.perf_counter()
        if release.needs_verdict:
            yield from release.judge_main(
                self._passages_answer(asked, release.main_sources(), sources))
        main, whole = release.main_sources(), release.all_sources()
        if release.verdicts.main is False and release.verdicts.whole is None and whole != main:
            yield from release.judge_whole(self._passages_answer(asked, whole, sources))
        return time.perf_counter() - began

    def _passages_answer(
        self, asked: _Asked, numbers: tuple[int, ...], sources: tuple[Hit, ...]
    ) -> bool:
        """The model's judgement: do these of the sources answer the question?"""
        # Judged in the passages' language when they were found through a translation.
        question = asked.retrieval.search_query or asked.used
        return passages_answer(self.generator, question, [sources[n - 1] for n in numbers])

    def _outcome(
        self, asked: _Asked, release: SentenceRelease, check_s: float | None
    ) -> _Accepted | _Refused:
        """The finished reply: the answer text, or why it is refused."""
        reason = release.refusal()
        if reason is not None:
            return _Refused(reason, check_s)
        checked = release.final()
        # The model's own text unless a check changed its sentences.
        changed = self.config.drop_unverified or checked.sentences != release.reading.parsed
        sent_at = release.first_sent_at
        return _Accepted(checked, checked.text if changed else release.reading.clean, check_s,
                         sent_at - asked.started if sent_at is not None else None)

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
                       self.config.verification_threshold, reading,
                       self.searcher.retriever.names())

    def _finish(
        self, asked: _Asked, sources: tuple[Hit, ...], draft: _Draft,
        outcome: _Accepted | _Refused,
    ) -> Answer:
        """The Answer with its timings (built once, now)."""
        total_s = time.perf_counter() - asked.started
        timings = Timings(
            rewrite_s=asked.rewrite.seconds if asked.rewrite is not None else None,
            retrieval_s=asked.retrieval.seconds,
            # A refusal before any token was generated counts its own time as the first.
            first_token_s=draft.first_token_s if draft.first_token_s is not None else total_s,
            decode_s=draft.decode_s, answer_tokens=draft.tokens,
            answer_check_s=outcome.answer_check_s, total_s=total_s,
            first_sentence_s=getattr(outcome, "first_sentence_s", None),
        )
        question, model = asked.question, self.generator.model_id
        search_query, standalone = asked.retrieval.search_query, asked.standalone
        if isinstance(outcome, _Refused):
            # Said in the language of the question used (a bare "Lyon ?" in a French talk).
            refusal = Answer(question, refusal_text(asked.used), True, (), sources, model,
                             timings=timings, refusal_reason=outcome.reason,
                             search_query=search_query, standalone_question=standalone,
                             served_by=draft.served_by)
            return refusal
        checked = outcome.checked
        return Answer(question, outcome.text, False, checked.citations, sources, model,
                      timings=timings, checks=checked.checks, search_query=search_query,
                      standalone_question=standalone, served_by=draft.served_by)
