"""Documents a question names by their subject: a company, entity, product or policy name.

Twelve annual reports of different companies read much alike, so a question naming one
company drew passages from the others' filings and answers mixed their figures. A question
names a document when it holds, written with a capital, a word of that document's title or
file name which few documents' names share ("Costco" in COSTCO_2018_10K.pdf). Common title
words ("policy", "report") name too many documents to count, and lower-case words never
count, so "credit" in a question about card fees does not pull in the credit policy.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import PurePath

from indexes.records import DocumentRecord
from indexes.text import ENGLISH_STOPWORDS, FRENCH_STOPWORDS

MAX_NAMED = 2  # a word in more documents' names than this is not a subject's name
# Words of a company's legal form: part of its name as written, naming nothing alone.
LEGAL_FORMS = frozenset({"inc", "corp", "corporation", "company", "ltd", "plc", "llc", "group",
                         "holdings", "sas", "gmbh"})
_TOKEN = re.compile(r"[^\W\d_][\w'’-]*|&|\S", re.UNICODE)
_POSSESSIVE = re.compile(r"['’]s$")
_SENTENCE_END = frozenset(".?!:;")
_FUNCTION_WORDS = ENGLISH_STOPWORDS | FRENCH_STOPWORDS  # "From" in a title names nothing


def _fold(word: str) -> str:
    """Lower case without accents, so "Société" in a question matches "societe" in a name."""
    return unicodedata.normalize("NFKD", word).encode("ascii", "ignore").decode().lower()


def name_words(document: DocumentRecord) -> set[str]:
    """The words of a document's title and file name that can name it (3 letters or more)."""
    stem = PurePath(document.source_path.split("#", 1)[0]).stem
    text = f"{document.title} {re.sub(r'[_.-]+', ' ', stem)}"
    return {_fold(w) for w in _TOKEN.findall(text)
            if len(w) >= 3 and w.isalpha() and w.lower() not in _FUNCTION_WORDS}


def names_index(documents: Iterable[DocumentRecord]) -> dict[str, frozenset[str]]:
    """Each name word to the documents it names, keeping only words few names share."""
    docs = list(documents)
    limit = max(1, min(MAX_NAMED, len(docs) // 4))
    found: dict[str, set[str]] = {}
    for document in docs:
        for word in name_words(document):
            found.setdefault(word, set()).add(document.doc_id)
    return {w: frozenset(ids) for w, ids in found.items() if len(ids) <= limit}


def name_phrases(question: str) -> list[tuple[bool, list[str]]]:
    """Runs of capitalised words ("Johnson & Johnson", "New York"), folded, each ended by a
    possessive, with whether it opens a sentence (where a capital says nothing of a name)."""
    phrases: list[tuple[bool, list[str]]] = []
    current: list[str] = []
    opening = at_start = True
    for token in _TOKEN.findall(question):
        if token == "&" and current:
            continue
        if token[0].isalpha() and any(c.isupper() for c in token):
            if not current:
                opening = at_start
            current.append(_fold(_POSSESSIVE.sub("", token)))
            if _POSSESSIVE.search(token):  # "Costco's EPS": the name ends at the possessive
                phrases.append((opening, current))
                current = []
        elif current:
            phrases.append((opening, current))
            current = []
        at_start = token in _SENTENCE_END
    if current:
        phrases.append((opening, current))
    return phrases


def named_documents(question: str, index: Mapping[str, frozenset[str]]) -> frozenset[str]:
    """The documents the question names: those every name word of one of its capitalised
    phrases names ("New York" names no document titled "New joiners")."""
    named: set[str] = set()
    for opening, phrase in name_phrases(question):
        words = [w for w in phrase
                 if len(w) >= 3 and w.isalpha() and w not in LEGAL_FORMS]
        if opening and words and words[0] not in index:
            words = words[1:]  # "Did Adobe ...": the sentence's capital, not a name
        if words and all(w in index for w in words):
            named |= frozenset.intersection(*(index[w] for w in words))
    return frozenset(named)
