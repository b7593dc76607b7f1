"""Reading the model's reply: refusals in other words, source headers it copied."""

from __future__ import annotations

import re
from collections.abc import Sequence

from indexes.text import content_terms, detect_language, reply_sentences
from rag.citations import MARKER
from rag.prompt import CITE_INSTRUCTION, FRENCH_REMINDER, REFUSAL_EN, REFUSAL_FR, source_label
from rag.retrieval import Hit

_REFUSAL_MARKERS = ("i don't know", "i do not know", "je ne sais pas")
_SILENT_SOURCES = re.compile(
    r"not (?:mentioned|stated|specified|provided|given|found|included|available)"
    r"|(?:sources|documents|context) (?:do|does) not (?:contain|mention|state|say|specify)"
    r"|no information|cannot find|can't find"
    r"|n'est pas (?:mentionn|précis|indiqu)|ne (?:mentionnent|précisent|contiennent) pas"
    r"|aucune information"
)


def refusal_text(question: str) -> str:
    """The explicit "I don't know" in the question's language."""
    return REFUSAL_FR if detect_language(question) == "fr" else REFUSAL_EN


def strip_echoed_labels(text: str, sources: Sequence[Hit]) -> str:
    """Remove source headers the model copied into its answer ("[1] Title, section, page 2").

    Small models often start by repeating the header of the source they use; the marker is
    kept (it is a citation), the header text is not part of the answer.
    """
    for hit in sources:
        label = source_label(hit)
        if len(label) >= 8:
            # Only as a header: opening the answer or a line, or after a marker; a title
            # named in a sentence ("According to the Travel Policy, ...") is the sentence's.
            text = re.sub(rf"(^|\n|\]\s*){re.escape(label)}", r"\1", text)
    return re.sub(r"[ \t]{2,}", " ", text).strip()


# What the prompt tells the model about language and citations, as index terms.
_INSTRUCTION_TERMS = content_terms(FRENCH_REMINDER, "fr") | content_terms(CITE_INSTRUCTION, "en")


def strip_echoed_instructions(text: str) -> str:
    """Remove sentences that only repeat the prompt's citation or language instruction.

    Small models sometimes end a French answer with "Citez [1]." or "Sources: [1].": a
    sentence made only of the instruction's words is not part of the answer. Its markers
    are kept: they cite the sentence before.
    """
    sentences = reply_sentences(text)
    kept = [
        " ".join(m.group(0) for m in MARKER.finditer(s)) if any(
            (t := content_terms(s, lang)) and t <= _INSTRUCTION_TERMS for lang in ("fr", "en")
        ) else s
        for s in sentences
    ]
    return text if kept == sentences else " ".join(k for k in kept if k).strip()


def is_refusal(text: str) -> bool:
    """True when the model said it does not know, or opened by saying the sources are silent.

    "X is not mentioned in the sources" as a first sentence is a refusal in other words; the
    same phrase later in an answer only qualifies what came before, and is kept.
    """
    lowered = text.lower().replace("’", "'")
    if any(marker in lowered for marker in _REFUSAL_MARKERS):
        return True
    # The first piece is the same whether a break is one whitespace or a run of them.
    first = reply_sentences(lowered.strip())[0]
    return bool(_SILENT_SOURCES.search(first))
