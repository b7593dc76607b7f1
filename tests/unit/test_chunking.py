"""Structure-aware chunking, sized with a whitespace word counter."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.chunking import Chunk, ChunkConfig, Chunker, split_sentences
from ingest.elements import Element
from tests.unit.fakes import word_count


def chunker(size: int = 20, overlap: int = 10) -> Chunker:
    return Chunker(ChunkConfig(size, overlap), word_count)


def sentences(count: int, start: int = 1) -> list[str]:
    """Five-word sentences: 'Sentence number 3 has five.'"""
    return [f"Sentence number {i} has five." for i in range(start, start + count)]


def lines(chunk: Chunk) -> list[str]:
    return chunk.text.split("\n")


def test_chunk_config_validation() -> None:
    with pytest.raises(ValueError, match="at least 16"):
        ChunkConfig(size=15, overlap=0)
    with pytest.raises(ValueError, match="less than the chunk size"):
        ChunkConfig(size=20, overlap=20)
    with pytest.raises(ValueError, match="less than the chunk size"):
        ChunkConfig(size=20, overlap=-1)


def test_split_sentences() -> None:
    assert split_sentences("Rates rose. Fees fell! Why? 3 banks agreed.") == [
        "Rates rose.", "Fees fell!", "Why?", "3 banks agreed."
    ]
    # No split before a lower-case word or inside a number.
    assert split_sentences("Rate is 1.5 percent. e.g. not split") == [
        "Rate is 1.5 percent. e.g. not split"
    ]


def test_short_document_is_one_chunk() -> None:
    chunks = chunker().chunk([Element("text", "A short paragraph.", 3)])
    assert chunks == [Chunk("A short paragraph.", 3, 3, "", "text")]


def test_long_paragraph_respects_size_and_overlaps_whole_sentences() -> None:
    chunks = chunker(20, 10).chunk([Element("text", " ".join(sentences(10)))])
    assert [lines(c) for c in chunks] == [
        sentences(4, 1), sentences(4, 3), sentences(4, 5), sentences(4, 7),
    ]
    for previous, current in itertools.pairwise(chunks):
        assert word_count(current.text) <= 20
        # The trailing sentences of a chunk open the next one, within the overlap budget.
        assert lines(current)[:2] == lines(previous)[-2:]


def test_overlap_budget_limits_repeated_sentences() -> None:
    chunks = chunker(20, 7).chunk([Element("text", " ".join(sentences(8)))])
    # Only one five-word sentence fits in a seven-token overlap.
    assert lines(chunks[1])[0] == lines(chunks[0])[-1]
    assert lines(chunks[1])[1] != lines(chunks[0])[-2]
    assert all(word_count(c.text) <= 20 for c in chunks)


def test_zero_overlap_repeats_nothing() -> None:
    text = " ".join(sentences(10))
    chunks = chunker(20, 0).chunk([Element("text", text)])
    assert [s for c in chunks for s in lines(c)] == sentences(10)


def test_overlong_sentence_is_cut_into_word_runs_within_size() -> None:
    words = [f"w{i}" for i in range(95)]
    chunks = chunker(20, 5).chunk([Element("text", " ".join(words))])
    assert all(0 < word_count(c.text) <= 20 for c in chunks)
    assert [w for c in chunks for w in c.text.split()] == words


def test_titles_start_new_chunks_with_nested_section_paths() -> None:
    elements = [
        Element("title", "A", 1, depth=0),
        Element("text", "Intro text.", 1),
        Element("title", "B", 1, depth=1),
        Element("text", "Text of b.", 2),
        Element("title", "D", 2, depth=2),
        Element("text", "Text of d.", 2),
        Element("title", "E", 3, depth=1),
        Element("text", "Text of e.", 3),
        Element("title", "C", 4, depth=0),
        Element("text", "Text of c.", 4),
    ]
    chunks = chunker(50, 10).chunk(elements)
    assert [(c.section, c.text) for c in chunks] == [
        ("A", "A\nIntro text."),
        ("A > B", "B\nText of b."),
        ("A > B > D", "D\nText of d."),
        ("A > E", "E\nText of e."),
        ("C", "C\nText of c."),
    ]
    assert (chunks[1].page, chunks[1].page_end) == (1, 2)


def test_title_without_depth_counts_as_top_level() -> None:
    elements = [
        Element("title", "Root", depth=0),
        Element("title", "Child", depth=1),
        Element("text", "Body."),
        Element("title", "Plain"),
        Element("text", "Other body."),
    ]
    chunks = chunker(50, 10).chunk(elements)
    # Consecutive headings stay with the text that follows them.
    assert [(c.section, c.text) for c in chunks] == [
        ("Root > Child", "Root\nChild\nBody."),
        ("Plain", "Plain\nOther body."),
    ]


def test_section_chunks_never_mix_sections() -> None:
    elements = [Element("title", "One", depth=0), Element("text", " ".join(sentences(6))),
                Element("title", "Two", depth=0), Element("text", " ".join(sentences(6, 7)))]
    chunks = chunker(20, 5).chunk(elements)
    for chunk in chunks:
        numbers = {int(s.split()[2]) for s in lines(chunk) if s.startswith("Sentence")}
        assert numbers <= set(range(1, 7)) or numbers <= set(range(7, 13))
        assert chunk.section == ("One" if numbers <= set(range(1, 7)) else "Two")
        assert word_count(chunk.text) <= 20


def _table(rows: int, header_rows: int = 1) -> Element:
    data = [["Product", "Rate"]] * header_rows + [[f"Product {i}", f"{i}.5%"] for i in range(rows)]
    return Element("table", "table text", 7, rows=data, header_rows=header_rows)


def test_table_is_split_between_rows_with_header_repeated() -> None:
    chunks = chunker(20, 10).chunk([Element("title", "Rates", depth=0), _table(12)])
    tables = [c for c in chunks if c.kind == "table"]
    assert len(tables) == 3
    body_rows: list[str] = []
    for chunk in tables:
        rows = lines(chunk)
        assert rows[0] == "Product | Rate"
        assert word_count(chunk.text) <= 20
        assert (chunk.page, chunk.page_end, chunk.section) == (7, 7, "Rates")
        body_rows.extend(rows[1:])
    # Every row exactly once, whole, in order.
    assert body_rows == [f"Product {i} | {i}.5%" for i in range(12)]


def test_heading_right_before_a_table_is_not_a_chunk_of_its_own() -> None:
    chunks = chunker(20, 5).chunk([Element("title", "Rates", depth=0), _table(3)])
    assert all(c.text.strip() != "Rates" for c in chunks)


def test_table_with_two_header_rows_repeats_both() -> None:
    chunks = chunker(20, 5).chunk([_table(10, header_rows=2)])
    assert len(chunks) > 1
    for chunk in chunks:
        assert lines(chunk)[:2] == ["Product | Rate", "Product | Rate"]
        assert chunk.kind == "table"


def test_only_an_overlong_table_row_exceeds_the_size() -> None:
    long_row = ["long " * 30, "tail"]
    element = Element("table", "t", 1, rows=[["H1", "H2"], ["short", "row"], long_row,
                                                ["last", "row"]], header_rows=1)
    chunks = chunker(20, 5).chunk([element])
    assert [lines(c)[0] for c in chunks] == ["H1 | H2"] * 3
    oversized = [c for c in chunks if word_count(c.text) > 20]
    assert len(oversized) == 1
    assert lines(oversized[0]) == ["H1 | H2", " | ".join(long_row)]


def test_table_without_rows_falls_back_to_its_text() -> None:
    chunks = chunker().chunk([Element("table", "Name | Value", 2)])
    assert chunks == [Chunk("Name | Value", 2, 2, "", "table")]


def test_no_empty_chunks() -> None:
    elements = [
        Element("text", "   "),
        Element("text", ""),
        Element("title", "Heading", depth=0),
        Element("text", "\n"),
        Element("table", "", rows=[]),
        Element("text", "Real text."),
    ]
    chunks = chunker().chunk(elements)
    assert chunks
    assert all(c.text.strip() for c in chunks)
    assert any("Real text." in c.text for c in chunks)
    assert chunker().chunk([Element("text", "  "), Element("list", "")]) == []


def test_pages_span_the_pieces_of_a_chunk() -> None:
    chunks = chunker(50, 5).chunk([
        Element("text", "First page text.", 1),
        Element("list", "Second page item.", 2),
        Element("text", "Third page text.", 3),
    ])
    assert len(chunks) == 1
    assert (chunks[0].page, chunks[0].page_end) == (1, 3)


_WORDS = st.sampled_from(["loan", "rate", "fee", "card", "bank", "Risk", "Audit", "Client"])
_SENTENCE = st.lists(_WORDS, min_size=1, max_size=12).map(lambda ws: " ".join(ws) + ".")
_PARAGRAPH = st.lists(_SENTENCE, min_size=1, max_size=8).map(" ".join)


@settings(max_examples=30, deadline=None)
@given(
    paragraphs=st.lists(_PARAGRAPH, min_size=1, max_size=6),
    size=st.integers(min_value=16, max_value=40),
    overlap_share=st.floats(min_value=0.0, max_value=0.9),
)
def test_chunk_size_property(paragraphs: list[str], size: int, overlap_share: float) -> None:
    overlap = min(size - 1, int(size * overlap_share))
    elements = [Element("text", p) for p in paragraphs]
    chunks = Chunker(ChunkConfig(size, overlap), word_count).chunk(elements)
    assert chunks
    for chunk in chunks:
        assert chunk.text.strip()
        assert word_count(chunk.text) <= size
    # Nothing is lost: every word of the input appears, in order, once overlaps are removed.
    produced = " ".join(c.text for c in chunks).split()
    source = " ".join(paragraphs).split()
    position = 0
    for word in produced:
        if position < len(source) and word == source[position]:
            position += 1
    assert position == len(source)


# -- the character cap ----------------------------------------------------------------------


def test_chunk_character_cap_defaults_to_ten_per_token_and_has_a_floor() -> None:
    assert ChunkConfig(size=200).char_limit == 2000
    assert ChunkConfig(size=200, max_chars=500).char_limit == 500
    with pytest.raises(ValueError, match="at least 100"):
        ChunkConfig(size=20, overlap=5, max_chars=99)


def test_an_unbroken_word_is_cut_within_the_character_cap() -> None:
    word = "x" * (2 * 1024 * 1024)  # one word: one token to the counter, as [UNK] is to BERT
    chunks = Chunker(ChunkConfig(), word_count).chunk([Element("text", word, 1)])
    assert all(len(c.text) <= 2000 for c in chunks)
    assert "".join(c.text for c in chunks) == word  # nothing lost, nothing repeated
    assert {(c.page, c.kind) for c in chunks} == {(1, "text")}


def test_words_of_unknown_length_are_packed_by_characters_as_well_as_tokens() -> None:
    # Each word counts one token, so 20 tokens of them would make a 3 000-character chunk.
    words = [f"{i:03d}" + "y" * 147 for i in range(60)]
    chunks = chunker(20, 5).chunk([Element("text", " ".join(words))])
    assert all(len(c.text) <= 200 for c in chunks)
    assert [w for c in chunks for w in c.text.split()] == words


def test_text_without_spaces_that_counts_many_tokens_is_cut_by_tokens() -> None:
    def one_token_per_character(text: str) -> int:
        return len(text.replace(" ", ""))

    text = "字" * 3000
    chunks = Chunker(ChunkConfig(size=50, overlap=0), one_token_per_character).chunk(
        [Element("text", text)])
    assert all(one_token_per_character(c.text) <= 50 for c in chunks)
    assert "".join(c.text for c in chunks) == text


def test_an_overlong_heading_gives_a_capped_section_and_capped_chunks() -> None:
    heading = "Z" * 5000
    chunks = chunker(20, 5).chunk([Element("title", heading, depth=0),
                                   Element("text", "Body text.")])
    assert all(len(c.text) <= 200 for c in chunks)
    assert {c.section for c in chunks} == {"Z" * 199 + "…"}
    assert "".join(c.text for c in chunks).startswith(heading)


def test_a_table_row_past_the_cap_is_cut_and_the_header_still_repeats() -> None:
    element = Element("table", "t", 1, rows=[["Product", "Rate"], ["Loan", "9" * 450]],
                      header_rows=1)
    chunks = chunker(20, 5).chunk([element])
    assert len(chunks) > 1
    assert all(len(c.text) <= 200 and lines(c)[0] == "Product | Rate" for c in chunks)
    assert "".join(lines(c)[1] for c in chunks) == "Loan | " + "9" * 450
