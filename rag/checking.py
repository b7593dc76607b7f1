"""The checks an answer passes before it is called one.

A sentence that instructs the model or repeats the mask put in place of such a sentence
(rag/injection.py) is dropped first: never verified, cited or shown, whatever the settings.
Each other sentence is cited and verified against the passages it cites; a marker pointing to the
wrong passage is moved to the one that supports the sentence; a figure read off a
neighbouring table row is corrected and the sentence verified again. Then the model judges,
in a fresh context, whether the cited passages answer the question at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from rag.citations import Citation, CitationBuilder, Origin, Sentence
from rag.generation import GenerationConfig, Generator, Purpose
from rag.injection import is_instruction
from rag.prompt import check_messages
from rag.retrieval import Hit
from rag.verification import (
    STATES_NOTHING,
    SentenceCheck,
    row_corrections,
    supporting_sources,
    verify,
)

_VERDICT = GenerationConfig(max_tokens=3, temperature=0.0, purpose=Purpose.CHECK)
_NO = re.compile(r"\W*(no|non)\b")


@dataclass(frozen=True)
class TranslatedReading:
    """How to read an answer whose passages were found through a translated question.

    `translate` puts one sentence into the passages' language (None: no translation); it is
    asked once per sentence text of an answer, however many times that sentence is checked.
    """

    question: str
    translate: Callable[[str], str | None]


@dataclass(frozen=True)
class Grounds:
    """What an answer's sentences are checked against, and how strictly."""

    sources: tuple[Hit, ...]
    question: str
    citations: CitationBuilder
    threshold: float
    translated: TranslatedReading | None = None
    # Words naming documents by subject (rag/subjects.py): a sentence naming one must cite it.
    names: Mapping[str, frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Checked:
    """An answer's sentences, their citations and their checks (check i is sentence i)."""

    sentences: tuple[Sentence, ...]
    citations: tuple[Citation, ...]
    checks: tuple[SentenceCheck, ...]

    @property
    def text(self) -> str:
        """The sentences as one answer, each followed by its markers."""
        return " ".join(sentence_text(s) for s in self.sentences)


def sentence_text(sentence: Sentence) -> str:
    """A sentence as an answer writes it: its text, then its markers."""
    return sentence.text + "".join(f" [{n}]" for n in sentence.markers)


def check_sentences(sentences: Sequence[Sentence], grounds: Grounds) -> Checked:
    """Cite and verify; a figure read off the wrong table row is corrected, then rechecked.

    The model named a row ("buy-to-let") and gave another row's figure (the second-home
    LTV): the named row's cell replaces it, and the reason records what the model wrote.
    A sentence that instructs the model (or repeats the mask) is left out.
    """
    sentences = [s for s in sentences if not is_instruction(s.text)]
    citations, checks = _cite_and_verify(sentences, grounds)
    fixes = row_corrections(checks, citations, grounds.sources, grounds.question)
    if not fixes:
        return Checked(tuple(sentences), tuple(citations), tuple(checks))
    fixed = [replace(s, text=fixes.get(i, s.text)) for i, s in enumerate(sentences)]
    citations, checks = _cite_and_verify(fixed, grounds)
    checks = [
        replace(c, reason=f"{c.reason}; figure corrected to the row it names (the model "
                          f"wrote: {sentences[c.index].text})") if c.index in fixes else c
        for c in checks
    ]
    return Checked(tuple(fixed), tuple(citations), tuple(checks))


def _cite_and_verify(
    sentences: Sequence[Sentence], grounds: Grounds
) -> tuple[list[Citation], list[SentenceCheck]]:
    """Citations and checks; a citation the model got wrong is moved to the right source.

    Small models often write [2] where the fact is in [1]. When a sentence's own markers
    fail verification but other sources given to the model verify it, those become its
    citations (origin "repair"); a sentence no source verifies stays unverified.
    """
    sources, question, threshold = grounds.sources, grounds.question, grounds.threshold
    read, scores = _read(sentences, grounds)
    citations = grounds.citations.build(read, sources, question, scores)
    checks = verify(sentences, citations, sources, threshold, question, grounds.names)
    repaired = False
    for check in checks:
        # Another source cannot make a pointer sentence a claim: no repair for it.
        found = () if check.verified or check.reason == STATES_NOTHING else supporting_sources(
            check.text, scores[check.index], sources, threshold, question)
        if found:
            citations = [c for c in citations if c.sentence != check.index] + [
                grounds.citations.cite(check.index, number, read[check.index].text, sources,
                                       scores[check.index], Origin.REPAIR)
                for number in found
            ]
            repaired = True
    if repaired:
        citations.sort(key=lambda c: (c.sentence, c.number))
        checks = verify(sentences, citations, sources, threshold, question, grounds.names)
    return citations, checks


def _read(
    sentences: Sequence[Sentence], grounds: Grounds
) -> tuple[Sequence[Sentence], list[list[float]]]:
    """The sentences as the sources are read against them, and each one's support.

    Sources found through a translated question are in another language than the
    answer (which follows the question's): word overlap and the English-only embedder
    see little support across languages, so each sentence is also read translated, with
    the translated question, and the better support of the two readings counts. Numbers
    are still checked on the sentence as written.
    """
    scores = grounds.citations.scores(sentences, grounds.sources, grounds.question)
    reading = grounds.translated
    if reading is None:
        return sentences, scores
    translated = [reading.translate(s.text) for s in sentences]
    read = [Sentence(text or s.text, s.markers)
            for s, text in zip(sentences, translated, strict=True)]
    other = grounds.citations.scores(read, grounds.sources, reading.question)
    # An untranslated sentence keeps its own support: the translated question alone
    # must not vouch for it.
    best = [[max(a, b) for a, b in zip(mine, theirs, strict=True)] if t else mine
            for mine, theirs, t in zip(scores, other, translated, strict=True)]
    return read, best


def keep_verified(checked: Checked) -> Checked:
    """The answer rebuilt from its verified sentences, renumbered, with their citations."""
    kept = [c.index for c in checked.checks if c.verified]
    renumber = {old: new for new, old in enumerate(kept)}
    return Checked(
        tuple(checked.sentences[i] for i in kept),
        tuple(replace(c, sentence=renumber[c.sentence])
              for c in checked.citations if c.sentence in renumber),
        tuple(replace(c, index=renumber[c.index]) for c in checked.checks if c.verified),
    )


def passages_answer(generator: Generator, question: str, passages: Sequence[Hit]) -> bool:
    """Ask the model, in a fresh context, whether these passages answer the question.

    Small models answer a near question when the asked one is not covered (the fee of
    another card, the limit of another product). Judging a passage against a question
    is easier for them than refraining from answering. Anything but a "no" keeps it.
    The passages of the first verified sentence (where the answer itself is) are judged
    first, then, on a "no", every passage the answer cites (rag/release.py): a second
    passage cited for a side remark should not sink a right answer (measured on the demo
    set: one wrong refusal fewer, no unanswerable question let through).
    """
    messages = check_messages(question, [hit.stored.chunk.text for hit in passages])
    verdict = "".join(generator.stream(messages, _VERDICT)).strip().lower()
    return not _NO.match(verdict)
