"""Follow-up questions with the default model over the demo corpus: a question that leans on
the one before is rewritten to stand alone, then answered from the passage it is about.

Each conversation's first answer is Coffre's own, asked first, so the history is what a
channel would send back.
"""

from __future__ import annotations

import pytest

from api.wiring import Services
from indexes.text import detect_language
from rag.answers import Answer, Query, Speaker, Turn

pytestmark = pytest.mark.integration


def _conversation(services: Services, first: str, follow_up: str) -> tuple[Answer, Answer]:
    """The answer to `first`, then to `follow_up` with the first exchange as history."""
    opening = services.answerer.ask(Query(first))
    assert not opening.refused, opening
    history = (Turn(Speaker.USER, first), Turn(Speaker.ASSISTANT, opening.text))
    return opening, services.answerer.ask(Query(follow_up, history=history))


def _cited_files(answer: Answer) -> set[str]:
    return {c.source_path.rsplit("/", 1)[-1] for c in answer.citations}


def test_an_english_follow_up_is_answered_for_the_city_it_names(
    demo_services: Services,
) -> None:
    paris, london = _conversation(
        demo_services, "What is the hotel cap per night in Paris?", "And in London?")
    assert "210" in paris.text and paris.standalone_question is None
    assert london.question == "And in London?"
    assert london.standalone_question is not None and "London" in london.standalone_question
    assert not london.refused, london
    # London's row of the per-diem table, not Paris's figure carried over.
    assert "220" in london.text and "210" not in london.text, london.text
    assert "travel-and-expenses.html" in _cited_files(london), london.citations
    assert london.timings.rewrite_s is not None


def test_a_french_follow_up_is_rewritten_and_answered_in_french(
    demo_services: Services,
) -> None:
    _, part_time = _conversation(
        demo_services, "Combien de jours de télétravail par semaine pour un temps plein ?",
        "Et pour un temps partiel ?")
    standalone = part_time.standalone_question
    assert standalone is not None and detect_language(standalone) == "fr", standalone
    assert "temps partiel" in standalone and "télétravail" in standalone, standalone
    assert not part_time.refused, part_time
    assert detect_language(part_time.text) == "fr", part_time.text
    assert "politique-teletravail.docx" in _cited_files(part_time), part_time.citations
    # The policy has a row per part-time share: the answer states the figure of each row it
    # names, and no figure of a row it does not name.
    text = part_time.text.replace("\u202f", " ").replace("\xa0", " ").replace(" %", "%")
    rows = {"90%": ("2 jours", "deux jours"), "80%": ("1 jour", "un jour")}
    assert any(row in text for row in rows), text
    for row, figures in rows.items():
        assert any(f in text for f in figures) == (row in text), text
