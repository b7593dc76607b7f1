"""What the CLI prints after a streamed draft: the checked answer when the checks changed it."""

from __future__ import annotations

from api.cli.commands import checked_note
from rag.answers import Answer


def answer(text: str, refused: bool = False) -> Answer:
    return Answer("q", text, refused, (), (), "fake-llm")


def test_an_unchanged_draft_prints_nothing_more() -> None:
    assert checked_note("It is 70%.\n[1]", answer("It is 70%. [1]")) is None


def test_a_corrected_draft_is_followed_by_the_checked_answer() -> None:
    note = checked_note("It is 75% [1].", answer("It is 70%. [1]"))
    assert note == "Checked against the sources: It is 70%. [1]"


def test_a_withdrawn_draft_says_it_was_not_verified() -> None:
    note = checked_note("It is 99%.", answer("I don't know from the documents available.", True))
    assert note == "Not verified against the sources: I don't know from the documents available."
    refusal = "I don't know from the documents available."
    assert checked_note(refusal, answer(refusal, True)) is None
