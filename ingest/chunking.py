"""Structure-aware chunking: sections start new chunks, sizes are counted in embedder tokens.

Paragraphs are packed into chunks of at most `size` tokens, a new section starts a new chunk,
consecutive chunks of a section overlap by up to `overlap` tokens of whole sentences, and a
table is cut only between rows, with its header rows repeated at the top of every piece.

Characters are capped too (`ChunkConfig.char_limit`): a word-piece tokenizer counts a word
of over 100 characters as one unknown token, so a file of one unbroken word would otherwise
be one chunk of megabytes. Past the cap a word is cut, and so is a table row. Section names
are capped like titles.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from indexes.formats import format_row
from indexes.text import chunk_sentences
from ingest.elements import Element
from ingest.titles import TITLE_LIMIT, cap_title

# Characters per token of the hard cap. Chunks of the demo corpus average 3 to 6 characters
# per token, 7.2 at most (an e-mail): only text that is no prose reaches 10.
CHARS_PER_TOKEN = 10
MIN_CHAR_LIMIT = 100
SECTION_LIMIT = 2 * TITLE_LIMIT
_LONG_WORD = 64  # characters; a shorter word is never cut


@dataclass(frozen=True)
class ChunkConfig:
    """Chunk size and overlap, in tokens of the embedding model, and the character cap.

    `max_chars` 0 means CHARS_PER_TOKEN characters per token of `size`.
    """

    size: int = 200
    overlap: int = 40
    max_chars: int = 0

    def __post_init__(self) -> None:
        if self.size < 16:
            raise ValueError("chunk size must be at least 16 tokens")
        if not 0 <= self.overlap < self.size:
            raise ValueError("chunk overlap must be at least 0 and less than the chunk size")
        if self.max_chars and self.max_chars < MIN_CHAR_LIMIT:
            raise ValueError(f"chunk character cap must be 0 (derived from the size) or at "
                             f"least {MIN_CHAR_LIMIT}")

    @property
    def char_limit(self) -> int:
        """Most characters in one chunk."""
        return self.max_chars or self.size * CHARS_PER_TOKEN


@dataclass(frozen=True)
class Chunk:
    """A passage ready to embed: text, page span, section path and kind."""

    text: str
    page: int | None
    page_end: int | None
    section: str
    kind: str  # "text" or "table"


@dataclass
class _Piece:
    text: str
    tokens: int
    page: int | None
    heading: bool = False


def split_sentences(text: str) -> list[str]:
    """Sentences of a paragraph (a light rule-based splitter, enough for sizing)."""
    return chunk_sentences(text)


class Chunker:
    """Turns a document's elements into chunks; `count_tokens` is the embedder's counter."""

    def __init__(self, config: ChunkConfig, count_tokens: Callable[[str], int]) -> None:
        self.config = config
        self.count = count_tokens

    def chunk(self, elements: list[Element]) -> list[Chunk]:
        """All chunks of a document, in reading order; never an empty one."""
        chunks: list[Chunk] = []
        sections: list[tuple[int, str]] = []  # (depth, heading) stack
        pending: list[_Piece] = []
        for element in elements:
            if element.kind == "title":
                # Consecutive headings stay together with the text that follows them.
                if any(not p.heading for p in pending):
                    chunks.extend(self._pack(pending, _path(sections)))
                    pending = []
                depth = element.depth if element.depth is not None else 0
                heading = cap_title(element.text)
                sections = [(d, h) for d, h in sections if d < depth] + [(depth, heading)]
                pending.extend(self._pieces(element, heading=True))
            elif element.kind == "table":
                # Headings alone before a table are not a passage: the section path keeps them.
                if any(not p.heading for p in pending):
                    chunks.extend(self._pack(pending, _path(sections)))
                pending = []
                chunks.extend(self._table(element, _path(sections)))
            else:
                pending.extend(self._pieces(element))
        chunks.extend(self._pack(pending, _path(sections)))
        return [c for c in chunks if c.text.strip()]

    def _fits(self, text: str, tokens: int) -> bool:
        return tokens <= self.config.size and len(text) <= self.config.char_limit

    def _pieces(self, element: Element, heading: bool = False) -> Iterator[_Piece]:
        """The element as one piece, or as sentences (then word runs) when it is too long."""
        tokens = self.count(element.text)
        if self._fits(element.text, tokens):
            yield _Piece(element.text, tokens, element.page, heading)
            return
        sentences = split_sentences(element.text)
        for sentence in sentences:
            # A text of one sentence (one unbroken word, say) is not counted twice.
            sentence_tokens = tokens if len(sentences) == 1 else self.count(sentence)
            if self._fits(sentence, sentence_tokens):
                yield _Piece(sentence, sentence_tokens, element.page, heading)
            else:
                yield from self._word_runs(sentence, sentence_tokens, element.page, heading)

    def _word_runs(
        self, text: str, tokens: int, page: int | None, heading: bool
    ) -> Iterator[_Piece]:
        """Runs of words within the token and character caps, over-long words cut first."""
        words = text.split()
        if len(words) == 1:
            words = self._split_word(words[0], tokens)
        else:
            words = [part for word in words for part in self._split_word(word)]
        # Word pieces per word vary; size the runs from this text's own ratio.
        per_word = max(1.0, tokens / max(1, len(words)))
        step = max(1, int(self.config.size / per_word * 0.9))
        limit = self.config.char_limit
        run: list[str] = []
        length = 0
        for word in words:
            if run and (len(run) >= step or length + 1 + len(word) > limit):
                yield self._piece(" ".join(run), page, heading)
                run, length = [], 0
            length += len(word) + (1 if run else 0)
            run.append(word)
        if run:
            yield self._piece(" ".join(run), page, heading)

    def _split_word(self, word: str, tokens: int | None = None) -> list[str]:
        """A word cut to fit the character cap and, when it counts many tokens, the size."""
        limit = self.config.char_limit
        if len(word) <= min(limit, _LONG_WORD):  # short words are not worth counting
            return [word]
        tokens = self.count(word) if tokens is None else tokens
        if tokens <= self.config.size:
            return _slices(word, limit)
        # Text without spaces (CJK, say) counts many tokens: cut it by its own ratio.
        return _slices(word, max(1, min(limit, int(len(word) * self.config.size / tokens * 0.9))))

    def _piece(self, text: str, page: int | None, heading: bool) -> _Piece:
        return _Piece(text, self.count(text), page, heading)

    def _pack(self, pieces: list[_Piece], section: str) -> list[Chunk]:
        """Greedy packing of pieces into chunks, with sentence-level overlap."""
        chunks: list[Chunk] = []
        current: list[_Piece] = []
        total = length = 0  # tokens, and characters of the pieces joined by newlines
        for piece in pieces:
            if current and (total + piece.tokens > self.config.size
                            or length + 1 + len(piece.text) > self.config.char_limit):
                chunks.append(_make_chunk(current, section, "text"))
                current = self._overlap_tail(current, piece)
                total = sum(p.tokens for p in current)
                length = _joined_length([p.text for p in current])
            length += len(piece.text) + (1 if current else 0)
            current.append(piece)
            total += piece.tokens
        if current:
            chunks.append(_make_chunk(current, section, "text"))
        return chunks

    def _overlap_tail(self, pieces: list[_Piece], incoming: _Piece) -> list[_Piece]:
        """Trailing sentences of the previous chunk to repeat, within the overlap budget."""
        budget = min(self.config.overlap, self.config.size - incoming.tokens)
        room = self.config.char_limit - len(incoming.text) - 1
        tail: list[_Piece] = []
        for piece in reversed(pieces):
            for sentence in reversed(split_sentences(piece.text)):
                tokens = self.count(sentence)
                if tokens > budget or len(sentence) + 1 > room:
                    return tail
                tail.insert(0, _Piece(sentence, tokens, piece.page))
                budget -= tokens
                room -= len(sentence) + 1
        return tail

    def _table(self, element: Element, section: str) -> list[Chunk]:
        """Pieces of whole rows, each starting with the table's header rows.

        A row past the character cap is cut; a header too long to repeat is read once.
        """
        limit = self.config.char_limit
        rows = [format_row(row) for row in element.rows] or [element.text]
        header, body_rows = rows[: element.header_rows], rows[element.header_rows :]
        if _joined_length(header) > limit // 2:
            header, body_rows = [], rows
        room = limit - (_joined_length(header) + 1 if header else 0)
        header_tokens = sum(self.count(r) for r in header)
        chunks: list[Chunk] = []
        body: list[str] = []
        total = header_tokens
        for row in (part for whole in body_rows for part in _slices(whole, room)):
            tokens = self.count(row)
            if body and (total + tokens > self.config.size
                         or _joined_length(body) + 1 + len(row) > room):
                chunks.append(Chunk("\n".join(header + body), element.page, element.page,
                                    section, "table"))
                body, total = [], header_tokens
            body.append(row)
            total += tokens
        if body or header:
            chunks.append(Chunk("\n".join(header + body), element.page, element.page,
                                section, "table"))
        return chunks


def _path(sections: list[tuple[int, str]]) -> str:
    return cap_title(" > ".join(heading for _, heading in sections), SECTION_LIMIT)


def _joined_length(texts: list[str]) -> int:
    """Length of the texts joined by newlines, as a chunk's text is."""
    return sum(len(t) for t in texts) + max(0, len(texts) - 1)


def _slices(text: str, width: int) -> list[str]:
    """`text` cut into pieces of at most `width` characters (itself if short enough)."""
    if len(text) <= width:
        return [text]
    return [text[start:start + width] for start in range(0, len(text), width)]


def _make_chunk(pieces: list[_Piece], section: str, kind: str) -> Chunk:
    pages = [p.page for p in pieces if p.page is not None]
    text = "\n".join(p.text for p in pieces)
    return Chunk(text, min(pages) if pages else None, max(pages) if pages else None, section, kind)
