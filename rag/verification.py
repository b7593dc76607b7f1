"""Sentence-level verification of an answer against the passages it cites.

A sentence is verified when its cited passages support it (blended lexical and embedding
support at or above a threshold) and every number it states appears in one of them: small
models often copy the wording of a passage and change its figures, which word overlap alone
would not catch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import combinations

from rag.citations import Citation, Sentence
from rag.retrieval import Hit

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_LIST_MARKER = re.compile(r"^\s*\d+[.)]\s+")
_WORDS = re.compile(r"[^\W\d_]+", re.UNICODE)
# Passages often spell small numbers out ("six months", "deux jours") where answers use
# digits; the passage side counts both forms.
_NUMBER_WORDS = {
    word: str(value)
    for words, value in (
        ("zero zéro", 0), ("one un une", 1), ("two deux", 2), ("three trois", 3),
        ("four quatre", 4), ("five cinq", 5), ("six", 6), ("seven sept", 7), ("eight huit", 8),
        ("nine neuf", 9), ("ten dix", 10), ("eleven onze", 11), ("twelve douze", 12),
        ("fifteen quinze", 15), ("twenty vingt", 20), ("thirty trente", 30),
        ("forty quarante", 40), ("fifty cinquante", 50), ("sixty soixante", 60),
        ("hundred cent", 100),
    )
    for word in words.split()
}


@dataclass(frozen=True)
class SentenceCheck:
    """The verdict on one answer sentence."""

    index: int
    text: str
    verified: bool
    support: float
    sources: tuple[int, ...]
    reason: str


def numbers(text: str) -> set[str]:
    """Numbers in a text, normalised: '1,000' -> '1000', '4.50' -> '4.5', '4,5' -> '4.5'."""
    found = set()
    for raw in _NUMBER.findall(_LIST_MARKER.sub("", text)):
        value = re.sub(r",(?=\d{3}\b)", "", raw).replace(",", ".")
        if "." in value:
            value = value.rstrip("0").rstrip(".")
        found.add(value.lstrip("0") or "0")
    return found


def passage_numbers(text: str) -> set[str]:
    """Numbers a passage states, in digits or as words."""
    spelled = {_NUMBER_WORDS[w] for w in _WORDS.findall(text.lower()) if w in _NUMBER_WORDS}
    return numbers(text) | spelled


def verify(
    sentences: list[Sentence], citations: list[Citation], hits: list[Hit], threshold: float
) -> list[SentenceCheck]:
    """One check per sentence, in order."""
    checks = []
    for index, sentence in enumerate(sentences):
        cited = [c for c in citations if c.sentence == index]
        if not cited:
            checks.append(SentenceCheck(index, sentence.text, False, 0.0, (), "no source"))
            continue
        best = max(c.support for c in cited)
        stated = numbers(sentence.text)
        supporting = [c for c in cited if c.support >= threshold]
        # A sentence citing two passages may take one figure from each.
        held = set().union(*(passage_numbers(hits[c.number - 1].stored.chunk.text)
                             for c in supporting))
        backed = supporting if supporting and stated <= held else []
        if backed:
            reason = "supported"
        elif best < threshold:
            reason = f"support {best:.2f} below {threshold:.2f}"
        else:
            reason = "states numbers its sources do not contain"
        checks.append(SentenceCheck(index, sentence.text, bool(backed), round(best, 4),
                                    tuple(sorted({c.number for c in cited})), reason))
    return checks


def supporting_sources(
    text: str, scores: list[float], hits: list[Hit], threshold: float
) -> tuple[int, ...]:
    """Source numbers that verify a sentence: the best single one, else a pair, else none.

    A pair is needed when a sentence joins facts from two passages ("v4.2, in force since
    1 March 2025"): each must support it, and together they must hold every number it states.
    """
    stated = numbers(text)
    able = sorted((n for n in range(1, len(hits) + 1) if scores[n - 1] >= threshold),
                  key=lambda n: scores[n - 1], reverse=True)
    held = {n: passage_numbers(hits[n - 1].stored.chunk.text) for n in able}
    for number in able:
        if stated <= held[number]:
            return (number,)
    for first, second in combinations(able, 2):
        if stated <= held[first] | held[second]:
            return (first, second)
    return ()
