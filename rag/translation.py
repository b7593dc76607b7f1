"""Cross-lingual search: a question in a language the embedder does not know, translated.

The bundled embedder is English-only and BM25 matches words, so a French question about an
English policy finds little (measured on the demo set: the passage with the answer was not
among the first six). The answer model translates the question into the embedder's
language; both phrasings are searched and the results that match the documents better are
kept, so a French question about a French document keeps its own results.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence

from indexes.text import detect_language, written_in
from rag.generation import GenerationConfig, Generator, Purpose
from rag.retrieval import Hit

LANGUAGE_NAMES = {"en": "English", "fr": "French"}
TRANSLATION_INSTRUCTION = (
    "Translate the user's text into {language}. Keep names, codes, numbers and "
    "abbreviations unchanged. Reply with the translation only."
)
_PREFIX = re.compile(r"^\s*(translation|traduction)\s*:\s*", re.IGNORECASE)
_QUOTES = "\"'“”«» "


def translation_messages(question: str, language: str) -> list[dict[str, str]]:
    """The chat messages asking the model for the question in `language`."""
    name = LANGUAGE_NAMES.get(language, language)
    return [
        {"role": "system", "content": TRANSLATION_INSTRUCTION.format(language=name)},
        {"role": "user", "content": question},
    ]


def clean_translation(output: str, question: str, language: str) -> str | None:
    """The translated question from the model's reply, or None when it is not one.

    Small models sometimes answer instead of translating, or echo the question: an empty
    reply, one much longer than the question, one unchanged or one not in the target
    language is not searched.
    """
    lines = [line for line in output.strip().splitlines() if line.strip()]
    if not lines:
        return None
    text = _PREFIX.sub("", lines[0]).strip(_QUOTES)
    if not text or len(text) > 2 * len(question) + 40:
        return None
    if text.casefold() == question.strip().casefold() or detect_language(text) != language:
        return None
    return text


def match_strength(hits: Sequence[Hit]) -> float:
    """How well a phrasing matches the documents: mean cosine of the passages it found.

    Cosines of different phrasings are comparable (same embedder, same passages scale),
    while fused scores are normalised per query and are not.
    """
    return statistics.fmean(h.vector_score or 0.0 for h in hits) if hits else 0.0


class QueryTranslator:
    """Translates questions into the embedder's language with the answer model."""

    def __init__(
        self, generator: Generator, language: str, known: frozenset[str] = frozenset(),
        max_tokens: int = 96,
    ) -> None:
        self.generator = generator
        self.language = language
        self.known = known | {language}
        self._config = GenerationConfig(
            max_tokens=max_tokens, temperature=0.0, purpose=Purpose.TRANSLATE
        )

    def needed(self, question: str) -> bool:
        """True when the question is in none of the embedder's languages."""
        return not written_in(question, self.known)

    def translate(self, question: str) -> str | None:
        """The question in the embedder's language, or None when the model gave none."""
        messages = translation_messages(question, self.language)
        output = "".join(self.generator.stream(messages, self._config))
        return clean_translation(output, question, self.language)
