"""The answer as Teams shows it: the card's text and sources, the AI label and citations, and
no passage text at all when quotes are off."""

from __future__ import annotations

import json
from typing import Any

from api.links import passage_url
from api.teams.cards import (
    answer_activity,
    answer_card,
    notice_activity,
    refusal_activity,
    sources,
)
from rag.citations import Citation, Origin
from tests.unit.test_teams_kit import PUBLIC_URL, card_texts

QUOTE = "The maximum loan-to-value for a buy-to-let mortgage is 70 percent of the valuation."
TEXT = "The maximum loan-to-value for a buy-to-let mortgage is 70 percent [1]."


def _citation(number: int, sentence: int = 0, *, page: int | None = 3, quote: str = QUOTE,
              title: str = "Retail Credit Policy", chunk: str = "c-policy") -> Citation:
    return Citation(number=number, sentence=sentence, chunk_id=chunk, doc_id="d-policy",
                    title=title, source_path="/docs/retail-credit-policy.pdf", page=page,
                    section="", quote=quote, start=4, end=4 + len(quote), origin=Origin.MODEL,
                    support=0.9)


def _wire(activity: Any) -> dict[str, Any]:
    """The JSON the connector client posts (only the fields that were set)."""
    wire: dict[str, Any] = activity.model_dump(by_alias=True, exclude_unset=True, mode="json")
    return wire


def test_sources_are_one_per_number_in_order_with_the_passage_link() -> None:
    later = _citation(2, title="Card tariffs", page=None, chunk="c-cards", quote="Five euros.")
    cited = sources([later, _citation(1, 1, quote="second quote"), _citation(1, 0)], PUBLIC_URL)
    assert [s.number for s in cited] == [1, 2]
    assert cited[0].quote == QUOTE  # the first sentence's quote of source 1
    assert cited[0].url == passage_url(PUBLIC_URL, _citation(1))
    assert cited[0].url.startswith(f"{PUBLIC_URL}/passage/c-policy?start=4&end=")
    assert (cited[1].title, cited[1].page, cited[1].place) == ("Card tariffs", None,
                                                               "Card tariffs")


def test_a_source_without_title_is_named_by_its_file() -> None:
    (source,) = sources([_citation(1, title="")], PUBLIC_URL)
    assert source.title == "retail-credit-policy.pdf"


def test_the_card_holds_the_answer_then_each_source_with_page_quote_and_link() -> None:
    cited = sources([_citation(1)], PUBLIC_URL)
    card = answer_card(TEXT, cited, quotes=True)
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.5")
    texts = card_texts(card)
    assert texts[0] == TEXT
    assert texts[1] == "Sources"
    assert texts[2] == f"[1] [Retail Credit Policy]({cited[0].url}), page 3"
    assert texts[3] == f"“{QUOTE}”"
    source_block = card["body"][2]
    assert source_block["selectAction"] == {"type": "Action.OpenUrl", "url": cited[0].url,
                                            "title": "Open source 1"}


def test_without_quotes_no_passage_text_leaves_in_the_card_or_the_citations() -> None:
    cited = sources([_citation(1)], PUBLIC_URL)
    wire = json.dumps(_wire(answer_activity(TEXT, cited, quotes=False)))
    assert "buy-to-let mortgage is 70 percent of the valuation" not in wire
    card = _wire(answer_activity(TEXT, cited, quotes=False))["attachments"][0]["content"]
    assert card_texts(card) == [TEXT, "Sources",
                                f"[1] [Retail Credit Policy]({cited[0].url}), page 3"]
    entity = _wire(answer_activity(TEXT, cited, quotes=False))["entities"][0]
    assert entity["citation"][0]["appearance"]["abstract"] == "Retail Credit Policy, page 3"


def test_the_message_is_labelled_ai_generated_with_the_sources_as_citations() -> None:
    cited = sources([_citation(1)], PUBLIC_URL)
    wire = _wire(answer_activity(TEXT, cited, quotes=True))
    assert wire["type"] == "message" and wire["summary"] == TEXT
    assert wire["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    (entity,) = wire["entities"]
    assert entity == {
        "type": "https://schema.org/Message", "@type": "Message",
        "@context": "https://schema.org", "additionalType": ["AIGeneratedContent"],
        "citation": [{"@type": "Claim", "position": 1, "appearance": {
            "@type": "DigitalDocument", "name": "Retail Credit Policy",
            "url": cited[0].url, "abstract": QUOTE}}],
    }


def test_long_titles_and_quotes_are_cut_to_teams_limits() -> None:
    cited = sources([_citation(1, title="T" * 200, quote="word " * 300)], PUBLIC_URL)
    appearance = _wire(answer_activity(TEXT, cited, quotes=True))["entities"][0][
        "citation"][0]["appearance"]
    assert len(appearance["name"]) == 80 and appearance["name"].endswith("…")
    assert len(appearance["abstract"]) <= 160
    quote_block = answer_card(TEXT, cited, quotes=True)["body"][2]["items"][1]["text"]
    assert len(quote_block) <= 602


def test_brackets_in_a_title_cannot_break_the_link() -> None:
    cited = sources([_citation(1, title="Policy [draft] v2")], PUBLIC_URL)
    line = card_texts(answer_card(TEXT, cited, quotes=True))[2]
    assert line.startswith("[1] [Policy (draft) v2](")


def test_a_refusal_is_plain_text_labelled_ai_generated_and_a_notice_is_not() -> None:
    refusal = _wire(refusal_activity("I don't know from the documents available to you."))
    assert refusal["text"] == "I don't know from the documents available to you."
    assert refusal["entities"][0]["additionalType"] == ["AIGeneratedContent"]
    assert "citation" not in refusal["entities"][0] and "attachments" not in refusal
    notice = _wire(notice_activity("You are not registered."))
    assert notice == {"type": "message", "text": "You are not registered.",
                      "textFormat": "plain"}
