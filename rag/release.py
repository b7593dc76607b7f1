"""Sentences let go one by one: each checked as soon as the model completes it, and sent only
once it may be shown to a client that cannot take text back (Teams, chat front ends).

`SentenceRelease` reads the reply as it grows. A sentence is complete once the next one has
begun (a marker after its full stop still belongs to it), or when the reply ends. Complete
sentences are cited and verified against their passages; nothing is let go until

- the reply is not a refusal ("I don't know", "the sources do not say"),
- one sentence is verified, and
- with the answer check on, the model judged that the passages of that first verified sentence
  answer the question (`needs_verdict`, then `judge`).

An answer whose passages were found through a translated question is checked once written:
each of its sentences is read translated, by the model, which is busy until then.

From then on each sentence goes as soon as it is checked: flagged when unverified, skipped
when unverified sentences are dropped, in its corrected form when a check changed it, never
in its draft form. When the first verdict is "no", everything is held to the end and the
passages of the whole answer are judged (the answer check's second reading); when nothing was
let go by then, the answer is refused with its reason, as before sentences were streamed.
Once sentences were sent, a later "I don't know" is only one more sentence to check.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from rag.answers import CheckedSentence, RefusalReason
from rag.checking import Checked, Grounds, check_sentences, keep_verified, sentence_text
from rag.citations import Sentence, parse_markers
from rag.replies import is_refusal, strip_echoed_instructions, strip_echoed_labels


@dataclass(frozen=True)
class Reading:
    """The reply so far as checked: its clean text and its complete sentences' checks."""

    clean: str
    parsed: tuple[Sentence, ...]  # as the model wrote them, before a check corrected one
    checked: Checked

    @property
    def first_verified(self) -> int | None:
        """Index of the first verified sentence, if any."""
        return next((c.index for c in self.checked.checks if c.verified), None)

    def cited(self, sentence: int | None = None) -> tuple[int, ...]:
        """Source numbers cited by one sentence, or by the whole answer."""
        return tuple(sorted({c.number for c in self.checked.citations
                             if sentence is None or c.sentence == sentence}))


@dataclass(frozen=True)
class Verdicts:
    """What the answer check said: of the first verified sentence's passages, of all cited."""

    main: bool | None = None
    whole: bool | None = None


class SentenceRelease:
    """The checked sentences of one reply, and which of them may be sent yet."""

    def __init__(self, grounds: Grounds, *, drop_unverified: bool, answer_check: bool) -> None:
        self.grounds = grounds
        self.drop_unverified = drop_unverified
        self.answer_check = answer_check
        self.verdicts = Verdicts()
        self.reading = Reading("", (), Checked((), (), ()))
        self.released: list[CheckedSentence] = []
        self.first_sent_at: float | None = None  # time.perf_counter() of the first sent
        self._checked_upto = 0  # sentences checked in `reading`
        self._raw = ""

    # Reading the reply --------------------------------------------------------------------

    def read(self, raw: str, *, final: bool = False) -> list[CheckedSentence]:
        """Take the reply so far; the sentences that may be sent now (none while held)."""
        self._raw = raw
        if not final and self.grounds.translated is not None:
            # Reading a sentence across languages asks the model to translate it, and the
            # model is busy writing: such an answer is checked once written.
            return []
        clean, sentences = self._sentences(raw)
        complete = sentences if final else sentences[:-1]
        # Checked again whole each time one more is complete: a sentence's citations are
        # the same read alone or with the ones after it, but the answer needs one at least.
        if final or len(complete) > self._checked_upto:
            self.reading = Reading(clean, tuple(complete), check_sentences(complete, self.grounds))
            self._checked_upto = len(complete)
        return self._let_go()

    def _sentences(self, raw: str) -> tuple[str, list[Sentence]]:
        text = strip_echoed_instructions(strip_echoed_labels(raw.strip(), self.grounds.sources))
        return parse_markers(text, len(self.grounds.sources))

    # Deciding -----------------------------------------------------------------------------

    @property
    def refusing(self) -> bool:
        """Nothing was sent and the complete sentences already say "I don't know": the rest
        of the reply cannot change that (generation may stop)."""
        if self.released or not self.reading.checked.sentences:
            return False
        return is_refusal(" ".join(s.text for s in self.reading.checked.sentences))

    @property
    def needs_verdict(self) -> bool:
        """The first verified sentence is complete and the model must judge its passages
        before anything is sent."""
        return (self.answer_check and self.verdicts.main is None and not self.refusing
                and self.reading.first_verified is not None)

    def main_sources(self) -> tuple[int, ...]:
        """The passages the answer check judges first: the first verified sentence's."""
        first = self.reading.first_verified
        return self.reading.cited(first) if first is not None else ()

    def all_sources(self) -> tuple[int, ...]:
        """Every passage the answer cites."""
        return self.reading.cited()

    def judge_main(self, says_yes: bool) -> list[CheckedSentence]:
        """Record the verdict on the first verified sentence's passages; what may go now."""
        self.verdicts = Verdicts(main=says_yes)
        return self._let_go()

    def judge_whole(self, says_yes: bool) -> list[CheckedSentence]:
        """Record the verdict on all cited passages (at the end); what may go now."""
        self.verdicts = Verdicts(main=self.verdicts.main, whole=says_yes)
        return self._let_go()

    @property
    def passed(self) -> bool:
        """Whether the answer's sentences may be shown."""
        if self.released:
            return True
        if self.reading.first_verified is None or self.refusing:
            return False
        return not self.answer_check or bool(self.verdicts.main or self.verdicts.whole)

    def refusal(self) -> RefusalReason | None:
        """Why the finished reply is "I don't know" (None: it is an answer), once read whole."""
        if self.passed:
            return None
        raw = self._raw.strip()
        if not raw or is_refusal(raw):
            return RefusalReason.MODEL
        if self.reading.first_verified is None:
            return RefusalReason.UNVERIFIED
        return RefusalReason.ANSWER_CHECK

    def final(self) -> Checked:
        """The finished answer's checked sentences (verified ones only when dropping)."""
        checked = self.reading.checked
        return keep_verified(checked) if self.drop_unverified else checked

    def _let_go(self) -> list[CheckedSentence]:
        """The checked sentences not sent yet, once the answer passed."""
        if not self.passed:
            return []
        checked = self.final()
        fresh = [CheckedSentence(check.index, _cited_text(checked, sentence, check.index),
                                 check.verified)
                 for sentence, check in zip(checked.sentences, checked.checks, strict=True)
                 if check.index >= len(self.released)]
        if fresh and self.first_sent_at is None:
            self.first_sent_at = time.perf_counter()
        self.released.extend(fresh)
        return fresh


def _cited_text(checked: Checked, sentence: Sentence, index: int) -> str:
    """A sentence with the numbers of the sources that back it: a marker the check moved to
    the source that supports the sentence is shown moved, so that it matches the sources
    listed after the answer."""
    numbers = sorted({c.number for c in checked.citations if c.sentence == index})
    return sentence_text(Sentence(sentence.text, tuple(numbers)))
