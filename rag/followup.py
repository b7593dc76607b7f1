"""Follow-up questions: a question that leans on earlier turns, rewritten to stand alone.

"And in London?" after a question on the Paris hotel cap finds nothing useful by itself: the
answer model rewrites it, from the newest turns of the conversation, into "What is the hotel
cap per night in London?", which is what is searched, prompted and checked. A reply that is
not a question in the follow-up's language falls back to the question as asked.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from indexes.text import detect_language
from rag.answers import Speaker, Turn
from rag.citations import MARKER
from rag.generation import GenerationConfig, Generator, Purpose
from rag.prompt import cut_to_tokens

# Measured with the default model (Qwen2.5-Coder-1.5B) on the demo conversations: with the
# conversation and the follow-up in one user message it rewrote all four test follow-ups
# (two cities, a French part-time question, an already standalone one kept as is); with the
# conversation in the system message and the follow-up as the user's message, it answered
# three of them instead of rewriting them.
REWRITE_INSTRUCTION = (
    "Rewrite the user's follow-up question as a standalone question that can be understood "
    "without the conversation: bring in from the conversation what the follow-up leaves out "
    "(the subject, the product, the figure asked for). Keep the language of the follow-up "
    "question. Do not answer it. Reply with the rewritten question only."
)
FOLLOW_UP_LABEL = "Follow-up question: "
_SPEAKER_LABELS = {Speaker.USER: "User: ", Speaker.ASSISTANT: "Assistant: "}
_REWRITE = GenerationConfig(max_tokens=96, temperature=0.0, purpose=Purpose.REWRITE)
# A turn cut to fewer tokens than this says too little to be worth its place.
_MIN_CUT_TOKENS = 16
_LABEL = re.compile(
    r"^\s*(?:\*\*)?(?:(?:standalone|rewritten|reformulated|follow-up)\s+question"
    r"|question\s+(?:autonome|reformulée)|reformulation|question|user|utilisateur)"
    r"\s*(?:\*\*)?\s*:\s*(?:\*\*)?",
    re.IGNORECASE,
)
_QUOTES = "\"'`“”«» *"
_CITED = re.compile(r"\s*" + MARKER.pattern)  # a marker and the space before it


@dataclass(frozen=True)
class Rewrite:
    """A rewrite that ran: the standalone question (None: use the question as asked, the
    model's reply was rejected or unchanged) and the seconds it took."""

    question: str | None
    seconds: float


def _plain(turn: Turn) -> str:
    """A turn's text on one line, without citation markers (noise to the rewrite)."""
    text = _CITED.sub("", turn.text) if turn.speaker is Speaker.ASSISTANT else turn.text
    return " ".join(text.split())


def bounded_history(
    history: Sequence[Turn], budget_tokens: int, count_tokens: Callable[[str], int]
) -> tuple[Turn, ...]:
    """The newest turns that fit in `budget_tokens` (as transcript lines), oldest first.

    Blank turns are left out. The newest turn that does not fit whole is cut to the room
    left (its first words: an answer says its point first), unless too little is left;
    older turns are dropped.
    """
    kept: list[Turn] = []
    used = 0
    for turn in reversed(history):
        text = _plain(turn)
        if not text:
            continue
        label = _SPEAKER_LABELS[turn.speaker]
        cost = count_tokens(label + text)
        if used + cost > budget_tokens:
            room = budget_tokens - used - count_tokens(label)
            if room >= _MIN_CUT_TOKENS:
                kept.append(Turn(turn.speaker, cut_to_tokens(text, room, count_tokens)))
            break
        kept.append(Turn(turn.speaker, text))
        used += cost
    return tuple(reversed(kept))


def rewrite_messages(question: str, history: Sequence[Turn]) -> list[dict[str, str]]:
    """The chat messages asking for `question` rewritten to stand alone, given `history`
    (already bounded: every turn is shown)."""
    transcript = "\n".join(_SPEAKER_LABELS[t.speaker] + _plain(t) for t in history)
    # One line each, like the transcript's turns: a line break would end the follow-up.
    follow_up = " ".join(question.split())
    user = (f"Conversation:\n{transcript}\n\n{FOLLOW_UP_LABEL}{follow_up}\n\n"
            "Standalone question:")
    return [{"role": "system", "content": REWRITE_INSTRUCTION}, {"role": "user", "content": user}]


def shown_language(text: str) -> str | None:
    """The language the text's own words show; None when it is too short to tell.

    detect_language says English when unsure: when one more function word of either
    language would tip it ("Lyon ?"), the text itself shows no language.
    """
    as_french, as_english = detect_language(f"{text} le"), detect_language(f"{text} the")
    return as_french if as_french == as_english else None


def follow_up_language(question: str, history: Sequence[Turn], known: str | None = None) -> str:
    """The follow-up's language: as the channel knows it, else as its words show, else the
    language of the latest user turn (a bare "Lyon ?" continues the conversation's)."""
    if known:
        return known
    shown = shown_language(question)
    if shown is not None:
        return shown
    users = [t.text for t in history if t.speaker is Speaker.USER]
    return detect_language(users[-1] if users else question)


def clean_rewrite(output: str, question: str, language: str, longest_turn: int) -> str | None:
    """The standalone question from the model's reply, or None to use the question as asked.

    Labels ("Standalone question:") and quotes are removed; the first line is kept. An empty
    reply, an unchanged question, one carrying a citation marker (an answer, not a
    question), one longer than the follow-up and the longest earlier question together with
    room for joining words (`longest_turn` characters), or one in another language than
    `language` (small models drift into English) is rejected.
    """
    lines = [_LABEL.sub("", line).strip(_QUOTES) for line in output.strip().splitlines()]
    text = next((line for line in lines if line), "")
    if not text or text.casefold() == question.strip().casefold() or MARKER.search(text):
        return None
    if len(text) > len(question) + longest_turn + 40 or detect_language(text) != language:
        return None
    return text


def rewrite_follow_up(
    generator: Generator, question: str, history: Sequence[Turn], *, budget_tokens: int,
    language: str | None = None,
) -> Rewrite | None:
    """Rewrite `question` from the newest turns of `history` into a standalone question.

    None when there is nothing to rewrite with (no turn with text: no model call). No rule
    decides that a question already stands alone ("What is the meal allowance?" after a
    question on Paris means Paris's): the model is asked whenever there is history, and
    told to keep such a question as it is.
    """
    turns = bounded_history(history, budget_tokens, generator.count_tokens)
    if not turns:
        return None
    started = time.perf_counter()
    output = "".join(generator.stream(rewrite_messages(question, turns), _REWRITE))
    longest = max((len(t.text) for t in turns if t.speaker is Speaker.USER),
                  default=len(question))
    cleaned = clean_rewrite(output, question, follow_up_language(question, turns, language),
                            longest)
    return Rewrite(cleaned, time.perf_counter() - started)
