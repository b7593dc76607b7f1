"""Sentence-level verification of an answer against the passages it cites.

A sentence is verified when its cited passages support it (blended lexical and embedding
support at or above a threshold) and every value it states appears whole in one of them:
small models often copy the wording of a passage and change its figures, which word overlap
alone would not catch. Values are times, dates, amounts, percentages and numbers, each
compared as one value (rag/quantities.py): "12:30" is not verified by a passage that says
"11:30" and, elsewhere, "12 months". Passages are read without the sentences that instruct
the model (rag/injection.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

from rag.citations import Citation, Sentence
from rag.injection import without_instructions
from rag.pointers import states_nothing
from rag.quantities import Holding, Quantity, holding, quantities, spelled_numbers
from rag.retrieval import Hit
from rag.subjects import named_documents
from rag.tables import Table, parse_table

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_LIST_MARKER = re.compile(r"^\s*\d+[.)]\s+")


ROW_MISMATCH = "states a figure from another row of the table"
STATES_NOTHING = "states nothing: it points to a source without a claim of its own"
WRONG_SUBJECT = "names a document it does not cite"


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
    return numbers(text) | spelled_numbers(text.lower())


def _named_rows(passage: str, sentence: str, question: str) -> tuple[Table, list[int]] | None:
    """The passage's table and the rows the sentence or its question names; None if none.

    "75% [1]" alone names no row: the question's rows stand for it then.
    """
    table = parse_table(passage)
    if table is None:
        return None
    rows = sorted(set(table.named_rows(sentence)) | set(table.named_rows(question)))
    return (table, rows) if rows else None


def passage_text(hit: Hit) -> str:
    """A source's passage as sentences are verified against it: without the sentences that
    instruct the model."""
    return without_instructions(hit.stored.chunk.text)


def admissible_text(passage: str, sentence: str, question: str = "") -> str:
    """The part of `passage` whose values `sentence` may state: all of it, except in a table
    whose rows the sentence or the question names (then those rows, the header and the text
    around the table)."""
    named = _named_rows(passage, sentence, question)
    if named is None:
        return passage
    table, rows = named
    return "\n".join([table.outside, *(" | ".join(table.rows[row]) for row in rows)])


def missing_values(stated: Sequence[Quantity], held: Sequence[Holding]) -> list[Quantity]:
    """The stated values that none of the passages holds whole."""
    return [q for q in stated if not any(h.holds(q) for h in held)]


def _row_numbers(table: Table, rows: list[int]) -> set[str]:
    """Figures of the named rows, the header and the text around the table."""
    allowed = passage_numbers(table.outside)
    for row in rows:
        allowed |= passage_numbers(" ".join(table.rows[row]))
    return allowed


def admissible_numbers(passage: str, sentence: str, question: str = "") -> set[str]:
    """Numbers `sentence` may take from `passage`.

    Every number of the passage, except in a table whose rows the sentence or the question
    names: there, only the figures of those rows, of the header and of the text
    around the table count, not those of the other rows.
    """
    return passage_numbers(admissible_text(passage, sentence, question))


def correct_row_figures(sentence: str, passage: str, question: str = "") -> str | None:
    """The sentence with another row's figure replaced by its named row's, or None.

    Only when nothing is ambiguous: the sentence or question names one row, each wrong
    figure sits in a single column of the other rows, and the named row's cell in that
    column holds exactly one number, not already in the sentence. The corrected sentence
    states what the cell says.
    """
    named_rows = _named_rows(passage, sentence, question)
    if named_rows is None or len(named_rows[1]) != 1:
        return None
    table, rows = named_rows
    named = table.rows[rows[0]]
    corrected = sentence
    for wrong in numbers(sentence) - _row_numbers(table, rows):
        columns = {c for row in table.rows for c, cell in enumerate(row) if wrong in numbers(cell)}
        if len(columns) != 1 or (column := columns.pop()) >= len(named):
            return None
        found = list(_NUMBER.finditer(named[column]))
        # The named row's figure already stated beside the wrong one ("[70% + 5%] = 75%")
        # is a calculation or a comparison, not a misread cell: nothing to replace.
        if len(found) != 1 or numbers(found[0].group(0)) <= numbers(sentence):
            return None
        corrected = _replace_number(corrected, wrong, found[0].group(0))
    return corrected if corrected != sentence else None


def _replace_number(text: str, value: str, replacement: str) -> str:
    """`text` with every number equal to `value` (normalised) written as `replacement`."""
    return _NUMBER.sub(
        lambda m: replacement if numbers(m.group(0)) == {value} else m.group(0), text
    )


def verify(
    sentences: Sequence[Sentence], citations: Sequence[Citation], hits: Sequence[Hit],
    threshold: float, question: str = "", names: Mapping[str, frozenset[str]] | None = None,
) -> list[SentenceCheck]:
    """One check per sentence, in order; `question` tells which table rows it is about.

    A sentence naming a document by its subject (`names`, rag/subjects.py: "According to
    the Travel and Expenses Policy, ...") is verified only when it cites that document: a
    claim about a named subject is checked against a passage about that subject.
    """
    checks = []
    for index, sentence in enumerate(sentences):
        cited = [c for c in citations if c.sentence == index]
        if not cited:
            checks.append(SentenceCheck(index, sentence.text, False, 0.0, (), "no source"))
            continue
        best = max(c.support for c in cited)
        numbers_cited = tuple(sorted({c.number for c in cited}))
        titles = tuple(part for n in numbers_cited for part in (
            hits[n - 1].stored.document.title, hits[n - 1].stored.chunk.section))
        if states_nothing(sentence.text, titles):
            checks.append(SentenceCheck(index, sentence.text, False, round(best, 4),
                                        numbers_cited, STATES_NOTHING))
            continue
        named = named_documents(sentence.text, names or {})
        if named and not named & {hits[n - 1].stored.document.doc_id for n in numbers_cited}:
            checks.append(SentenceCheck(index, sentence.text, False, round(best, 4),
                                        numbers_cited, WRONG_SUBJECT))
            continue
        stated = quantities(sentence.text)
        supporting = [c for c in cited if c.support >= threshold]
        # A sentence citing two passages may take one value from each, each one whole.
        texts = [passage_text(hits[c.number - 1]) for c in supporting]
        missing = missing_values(
            stated, [holding(admissible_text(t, sentence.text, question)) for t in texts])
        backed = supporting if supporting and not missing else []
        if backed:
            reason = "supported"
        elif best < threshold:
            reason = f"support {best:.2f} below {threshold:.2f}"
        elif not missing_values(stated, [holding(t) for t in texts]):
            reason = ROW_MISMATCH
        else:
            values = ", ".join(q.text.strip() for q in missing)
            reason = f"states numbers its sources do not contain: {values}"
        checks.append(SentenceCheck(index, sentence.text, bool(backed), round(best, 4),
                                    numbers_cited, reason))
    return checks


def supporting_sources(
    text: str, scores: Sequence[float], hits: Sequence[Hit], threshold: float, question: str = ""
) -> tuple[int, ...]:
    """Source numbers that verify a sentence: the best single one, else a pair, else none.

    A pair is needed when a sentence joins facts from two passages ("v4.2, in force since
    1 March 2025"): each must support it, and together they must hold every value it states.
    """
    stated = quantities(text)
    able = sorted((n for n in range(1, len(hits) + 1) if scores[n - 1] >= threshold),
                  key=lambda n: scores[n - 1], reverse=True)
    held = {n: holding(admissible_text(passage_text(hits[n - 1]), text, question))
            for n in able}
    for number in able:
        if not missing_values(stated, [held[number]]):
            return (number,)
    for first, second in combinations(able, 2):
        if not missing_values(stated, [held[first], held[second]]):
            return (first, second)
    return ()


def row_corrections(
    checks: Sequence[SentenceCheck], citations: Sequence[Citation], hits: Sequence[Hit],
    question: str,
) -> dict[int, str]:
    """Corrected texts of the sentences that state a figure of another row than they name."""
    fixes: dict[int, str] = {}
    for check in checks:
        if check.reason != ROW_MISMATCH:
            continue
        for citation in (c for c in citations if c.sentence == check.index):
            text = passage_text(hits[citation.number - 1])
            if corrected := correct_row_figures(check.text, text, question):
                fixes[check.index] = corrected
                break
    return fixes
