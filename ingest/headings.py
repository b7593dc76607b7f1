"""Headings in PDF text, which marks none: which short lines are headings, and how deep.

PDF parsers report any short line as a title and numbered headings as list items; these
rules keep real headings, give them a depth from their numbering, and rejoin a section
number printed on its own line with the heading after it.
"""

from __future__ import annotations

import re
from typing import Any

NUMBERED_HEADING = re.compile(r"^(\d+(\.\d+)*\.?|[A-Z]\.|[IVX]+\.)\s+\S")
_LONE_NUMBER = re.compile(r"^\d+(\.\d+)*\.?$")


def looks_like_heading(text: str) -> bool:
    """For PDFs, where any short line comes back as a Title: keep real headings only."""
    if NUMBERED_HEADING.match(text):
        return len(text.split()) <= 12
    words = text.split()
    if len(words) > 10 or text[-1] in ".,;:" or not text[0].isupper():
        return False
    capitalised = sum(w[0].isupper() for w in words if w[0].isalpha())
    return capitalised >= max(1, len([w for w in words if len(w) > 3]) // 2)


def is_numbered_heading(text: str) -> bool:
    """'3. Affordability and credit scoring' (PDF parsers report these as list items)."""
    return bool(NUMBERED_HEADING.match(text)) and len(text.split()) <= 8 and text[-1] not in ".,;"


def heading_depth(text: str) -> int:
    """Depth from a section number ("3." -> 0, "3.2" -> 1); unnumbered PDF headings -> 1."""
    match = NUMBERED_HEADING.match(text)
    return match.group(1).rstrip(".").count(".") if match else 1


def join_split_headings(raw: list[Any]) -> list[Any]:
    """PDF text often puts a section number and its heading on separate lines: rejoin them.

    `raw` holds unstructured elements; a rejoined one becomes a Title.
    """
    out: list[Any] = []
    for item in raw:
        previous = out[-1] if out else None
        if (
            previous is not None
            and _LONE_NUMBER.match((previous.text or "").strip())
            and len((item.text or "").split()) <= 10
            and previous.metadata.page_number == item.metadata.page_number
        ):
            item.text = f"{previous.text.strip()} {item.text.strip()}"
            item.category = "Title"
            out[-1] = item
        else:
            out.append(item)
    return out
