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

MAX_NAMED = 3  # a word in more documents' names than this is not a subject's name
_WORD = re.compile(r"[^\W\d_][\w&-]*", re.UNICODE)
_POSSESSIVE = re.compile(r"['’]s\b")


def _fold(word: str) -> str:
    """Lower case without accents, so "Société" in a question matches "societe" in a name."""
    return unicodedata.normalize("NFKD", word).encode("ascii", "ignore").decode().lower()


def name_words(document: DocumentRecord) -> set[str]:
    """The words of a document's title and file name that can name it (3 letters or more)."""
    stem = PurePath(document.source_path.split("#", 1)[0]).stem
    text = f"{document.title} {re.sub(r'[_.-]+', ' ', stem)}"
    return {_fold(w) for w in _WORD.findall(text) if len(w) >= 3 and w.isalpha()}


def names_index(documents: Iterable[DocumentRecord]) -> dict[str, frozenset[str]]:
    """Each name word to the documents it names, keeping only words few names share."""
    docs = list(documents)
    limit = max(1, min(MAX_NAMED, len(docs) // 3))
    found: dict[str, set[str]] = {}
    for document in docs:
        for word in name_words(document):
            found.setdefault(word, set()).add(document.doc_id)
    return {w: frozenset(ids) for w, ids in found.items() if len(ids) <= limit}


def capitalised_words(question: str) -> set[str]:
    """The question's words written with a capital (names, acronyms), folded."""
    text = _POSSESSIVE.sub("", question)
    return {_fold(w) for w in _WORD.findall(text) if len(w) >= 3 and any(c.isupper() for c in w)}


def named_documents(question: str, index: Mapping[str, frozenset[str]]) -> frozenset[str]:
    """The documents the question names, by the index `names_index` built."""
    named: set[str] = set()
    for word in capitalised_words(question):
        named |= index.get(word, frozenset())
    return frozenset(named)
