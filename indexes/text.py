"""Language-aware text analysis for the keyword index: English and French.

Both the stored chunks and the queries go through `analyze`, so whatever folding and stemming
is applied here is applied the same way on both sides.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection
from functools import lru_cache

import Stemmer

_WORD = re.compile(r"[^\W_]+(?:[.,][0-9]+)*", re.UNICODE)
# French elision: l'avis, d'un, qu'il, jusqu'à; both straight and typographic apostrophes.
_ELISION = re.compile(r"\b(?:[cdjlmnst]|qu|jusqu|lorsqu|puisqu|quoiqu)['’]", re.IGNORECASE)

ENGLISH_STOPWORDS = frozenset(
    """a an and are as at be been but by can could did do does for from had has have how i if
    in into is it its may me might must my no not of on or our shall should so than that the
    their them then there these they this those to was we were what when where which while who
    whom why will with would you your""".split()
)
FRENCH_STOPWORDS = frozenset(
    """a au aux avec ce ces cet cette dans de des du elle en est et eux il ils je la le les
    leur leurs lui ma mais me mes moi mon ne nos notre nous on ou où par pas pour qu que qui
    sa se ses son sont sur ta te tes toi ton tu un une vos votre vous y été être avoir ont
    quel quelle quels quelles comment combien quoi faut doit""".split()
)
_STOPWORDS = {"en": ENGLISH_STOPWORDS, "fr": FRENCH_STOPWORDS}
_STEMMER_NAMES = {"en": "english", "fr": "french"}
# Short questions carry few function words, so interrogatives and pronouns count too.
_FRENCH_MARKERS = frozenset(
    """le la les des du de un une est et dans pour avec sur qui que pas quel quelle quels
    quelles quand pourquoi combien comment où il elle je au aux à""".split()
)
_ENGLISH_MARKERS = frozenset(
    """the and is are of to in for with on that this be by what which when why how who
    does do can i it""".split()
)
# Letters that English words almost never carry; a word with one leans towards French.
_FRENCH_LETTERS = re.compile(r"[éèêàùâîôûçœ]", re.IGNORECASE)


def fold(text: str) -> str:
    """Lower-case and strip accents, so 'Échéance' and 'echeance' match."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def detect_language(text: str) -> str:
    """'fr' or 'en' from the share of common function words; English when unsure."""
    words = [w.lower() for w in _WORD.findall(_ELISION.sub(" ", text[:4000]))]
    french = sum(w in _FRENCH_MARKERS for w in words)
    english = sum(w in _ENGLISH_MARKERS for w in words)
    elisions = len(_ELISION.findall(text[:4000]))
    accented = sum(bool(_FRENCH_LETTERS.search(w)) for w in words)
    return "fr" if french + elisions + 0.5 * accented > english else "en"


def written_in(text: str, languages: Collection[str]) -> bool:
    """True when the text is in one of `languages` ('*' stands for any language)."""
    return "*" in languages or detect_language(text) in languages


@lru_cache(maxsize=4)
def _stemmer(language: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(_STEMMER_NAMES.get(language, "english"))


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens with French elisions removed; numbers keep their separators."""
    return [w.lower() for w in _WORD.findall(_ELISION.sub(" ", text))]


def analyze(text: str, language: str | None = None) -> list[str]:
    """Tokens for the keyword index: no stop words, stemmed in the text's language, folded."""
    lang = language or detect_language(text)
    stop = _STOPWORDS.get(lang, ENGLISH_STOPWORDS)
    words = [w for w in tokenize(text) if w not in stop]
    # Stemming before folding: the Snowball French stemmer expects accents.
    return [fold(stem) for stem in _stemmer(lang).stemWords(words)]


def content_terms(text: str, language: str) -> set[str]:
    """The text's index terms without its figures: what it says, not the numbers it gives."""
    return {t for t in analyze(text, language) if not any(ch.isdigit() for ch in t)}


# Sentence splitting. Each reader of text cuts it for its own purpose, and the variants differ
# on purpose: changing one changes chunk boundaries, citations or checks (and the demo-set
# results), so each keeps its exact rule and is named for what it is for.

# Chunk sizing: a break after . ! ? ; or : only before what starts a sentence (a capital or a
# digit, maybe after an opening quote or bracket), so "e.g. not" and "1.5" stay whole.
_CHUNK_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+(?=[\"'“«(]?[A-Z0-9À-Ý])")
# Answer claims: a break after . ! ? whatever follows, and at every line break (a model's
# bullet list has one claim per line, often without a full stop).
_ANSWER_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+|\n+")
# A model's reply read as prose (echoed instructions, an opening refusal): breaks after . ! ?
# only, so a reply rebuilt from its sentences keeps its line breaks inside them.
_REPLY_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
# Quotable passage sentences: runs without . ! ? or a line break, with their closing marks
# ("Why?!" whole); never empty.
_PASSAGE_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")
# Masking units: runs up to one closing mark, empty runs included, so that rewriting some of
# them leaves every other character of the passage where it was.
_MASKING_SENTENCE = re.compile(r"[^.!?\n]*[.!?]?")


def chunk_sentences(text: str) -> list[str]:
    """Sentences of a paragraph for chunk sizing and overlap, stripped, none empty.

    A light rule-based splitter: it only needs to find places where a chunk may be cut.
    """
    return [s.strip() for s in _CHUNK_SENTENCE_END.split(text) if s.strip()]


def answer_sentences(text: str) -> list[str]:
    """The pieces of a model's answer to cite and verify one by one, as cut (unstripped,
    possibly empty: the caller moves leading citation markers to the sentence before).
    """
    return _ANSWER_SENTENCE_BREAK.split(text)


def reply_sentences(text: str) -> list[str]:
    """Sentences of a model's reply read as prose, as cut (line breaks are not breaks)."""
    return _REPLY_SENTENCE_END.split(text)


def passage_sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of a passage that a citation may quote, in order.

    A span may start with the whitespace after the previous sentence's closing mark.
    """
    return [match.span() for match in _PASSAGE_SENTENCE.finditer(text)]


def masking_sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each non-empty masking unit of `rewrite_sentences`, in order: the
    parts of a passage that are masked, or blanked, whole."""
    return [match.span() for match in _MASKING_SENTENCE.finditer(text) if match.group(0)]


def rewrite_sentences(text: str, rewrite: Callable[[str], str]) -> str:
    """`text` with each masking unit (a run up to one closing mark) replaced by `rewrite`'s
    reply for it; units rewritten to themselves leave the text unchanged.
    """
    return _MASKING_SENTENCE.sub(lambda match: rewrite(match.group(0)), text)
