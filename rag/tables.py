"""Table passages read row by row: which rows a sentence is about.

Table chunks hold one row a line, cells joined by " | ", the header row first (the format is
defined once, in `indexes/formats.py`; the chunker repeats the header at the top of every
piece of a long table). Small models read the right table and the wrong row ("the
buy-to-let LTV is 75%", where 75% is the second-home row's): a figure check over the whole
passage lets that through, since 75% is in it. Knowing which rows a sentence names lets the
check ask whether the figure is in one of those.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from indexes.formats import is_row, split_row
from indexes.text import content_terms, detect_language

# Share of a row label's term weight a text must hold to name that row.
_NAMED_SHARE = 0.5


@dataclass(frozen=True)
class Table:
    """The rows of a table passage and whatever else the passage says."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    # The header line and the lines that are not table rows, as one text.
    outside: str
    language: str

    def named_rows(self, text: str) -> list[int]:
        """Indices of the rows whose label `text` names; [] when it names none.

        A row's label is its cells before the first one that starts with a figure
        ("Buy-to-let mortgage", "ACC-01 | Everyday Current Account | Account maintenance").
        Label terms weigh ln(rows / rows whose label holds them), so a word every label
        shares names none; a row is named when `text` holds at least half its label's
        weight. Stray words ("up" in "used car up to 5 years old") name no row.
        """
        terms = content_terms(text, self.language)
        labels = [content_terms(" ".join(_label(row)), self.language) for row in self.rows]
        count = len(labels)
        held = Counter(t for label in labels for t in label)
        named = []
        for index, label in enumerate(labels):
            weight = {t: math.log(count / held[t]) for t in label}
            total = sum(weight.values())
            if total > 0 and sum(weight[t] for t in label & terms) >= _NAMED_SHARE * total:
                named.append(index)
        return named


def _label(row: tuple[str, ...]) -> tuple[str, ...]:
    cut = next((i for i, cell in enumerate(row) if not cell or cell[0].isdigit()), len(row))
    return row[:cut]


def parse_table(text: str) -> Table | None:
    """The table in a passage: a header line and at least two rows; None for other text."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    row_lines = [i for i, line in enumerate(lines) if is_row(line)]
    if len(row_lines) < 3:
        return None
    header, *rows = (tuple(split_row(lines[i])) for i in row_lines)
    in_rows = set(row_lines[1:])
    outside = "\n".join(line for i, line in enumerate(lines) if i not in in_rows)
    return Table(header, tuple(rows), outside, detect_language(text))
