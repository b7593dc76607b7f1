"""Structure-aware chunking: sections start new chunks, sizes are counted in embedder tokens.

Paragraphs are packed into chunks of at most `size` tokens, a new section starts a new chunk,
consecutive chunks of a section overlap by up to `overlap` tokens of whole sentences, and a
table is cut only between rows, with its header rows repeated at the top of every piece.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from indexes.formats import format_row
from indexes.text import chunk_sentences
from ingest.elements import Element


@dataclass(frozen=True)
class ChunkConfig:
    """Chunk size and overlap, in tokens of the embedding model."""

    size: int = 200
    overlap: int = 40

    def __post_init__(self) -> None:
        if self.size < 16:
            raise ValueError("chunk size must be at least 16 tokens")
        if not 0 <= self.overlap < self.size:
            raise ValueError("chunk overlap must be at least 0 and less than the chunk size")


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
                sections = [(d, h) for d, h in sections if d < depth] + [(depth, element.text)]
                pending.append(
                    _Piece(element.text, self.count(element.text), element.page, heading=True)
                )
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

    def _pieces(self, element: Element) -> Iterator[_Piece]:
        """The element as one piece, or as sentences (then word runs) when it is too long."""
        tokens = self.count(element.text)
        if tokens <= self.config.size:
            yield _Piece(element.text, tokens, element.page)
            return
        for sentence in split_sentences(element.text):
            sentence_tokens = self.count(sentence)
            if sentence_tokens <= self.config.size:
                yield _Piece(sentence, sentence_tokens, element.page)
            else:
                yield from self._word_runs(sentence, element.page)

    def _word_runs(self, text: str, page: int | None) -> Iterator[_Piece]:
        words = text.split()
        # Word pieces per word vary; size the runs from this text's own ratio.
        per_word = max(1.0, self.count(text) / max(1, len(words)))
        step = max(1, int(self.config.size / per_word * 0.9))
        for start in range(0, len(words), step):
            run = " ".join(words[start : start + step])
            yield _Piece(run, self.count(run), page)

    def _pack(self, pieces: list[_Piece], section: str) -> list[Chunk]:
        """Greedy packing of pieces into chunks, with sentence-level overlap."""
        chunks: list[Chunk] = []
        current: list[_Piece] = []
        total = 0
        for piece in pieces:
            if current and total + piece.tokens > self.config.size:
                chunks.append(_make_chunk(current, section, "text"))
                current = self._overlap_tail(current, piece.tokens)
                total = sum(p.tokens for p in current)
            current.append(piece)
            total += piece.tokens
        if current:
            chunks.append(_make_chunk(current, section, "text"))
        return chunks

    def _overlap_tail(self, pieces: list[_Piece], incoming: int) -> list[_Piece]:
        """Trailing sentences of the previous chunk to repeat, within the overlap budget."""
        budget = min(self.config.overlap, self.config.size - incoming)
        tail: list[_Piece] = []
        for piece in reversed(pieces):
            for sentence in reversed(split_sentences(piece.text)):
                tokens = self.count(sentence)
                if tokens > budget:
                    return tail
                tail.insert(0, _Piece(sentence, tokens, piece.page))
                budget -= tokens
        return tail

    def _table(self, element: Element, section: str) -> list[Chunk]:
        """Pieces of whole rows, each starting with the table's header rows."""
        rows = [format_row(row) for row in element.rows] or [element.text]
        header = rows[: element.header_rows]
        header_tokens = sum(self.count(r) for r in header)
        chunks: list[Chunk] = []
        body: list[str] = []
        total = header_tokens
        for row in rows[element.header_rows :]:
            tokens = self.count(row)
            if body and total + tokens > self.config.size:
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
    return " > ".join(heading for _, heading in sections)


def _make_chunk(pieces: list[_Piece], section: str, kind: str) -> Chunk:
    pages = [p.page for p in pieces if p.page is not None]
    text = "\n".join(p.text for p in pieces)
    return Chunk(text, min(pages) if pages else None, max(pages) if pages else None, section, kind)
