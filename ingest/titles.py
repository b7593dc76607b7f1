"""Titles and section names kept short: a hostile file must not put megabytes in a listing.

A document title is derived from many places (PDF metadata, an HTML <title>, an e-mail
subject, the first heading, the file name); each goes through `cap_title` before it is kept.
"""

from __future__ import annotations

TITLE_LIMIT = 200  # characters; a real title is a line, not a paragraph
ELLIPSIS = "…"


def cap_title(text: str, limit: int = TITLE_LIMIT) -> str:
    """`text` if it is at most `limit` characters, else cut at a word boundary with an ellipsis.

    A text with no space in its first half (one unbroken word) is cut mid-word, so the
    result is never longer than `limit`.
    """
    if len(text) <= limit:
        return text
    cut = text[: limit - len(ELLIPSIS)]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + ELLIPSIS
