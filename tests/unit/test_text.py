"""Text analysis for the keyword index: elision, accent folding, stemming, language."""

from __future__ import annotations

import pytest

from indexes.text import analyze, detect_language, fold, tokenize


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("l'avis", ["avis"]),
        ("d’un", ["un"]),  # typographic apostrophe
        ("L’Avis", ["avis"]),
        ("qu'il jusqu'à lorsqu'elle", ["il", "à", "elle"]),
        ("aujourd hui", ["aujourd", "hui"]),
    ],
)
def test_tokenize_removes_french_elision(text: str, expected: list[str]) -> None:
    assert tokenize(text) == expected


def test_analyze_french_drops_elided_articles_and_stop_words() -> None:
    assert analyze("l'avis d’un client", "fr") == ["avis", "client"]
    assert analyze("l’avis", "fr") == analyze("avis", "fr")


def test_tokenize_keeps_number_separators() -> None:
    assert tokenize("Un taux de 1,5 % sur 2.000 euros") == ["un", "taux", "de", "1,5", "sur",
                                                            "2.000", "euros"]


def test_fold_strips_accents_and_case() -> None:
    assert fold("Échéance") == "echeance"
    assert fold("ÇA Où") == "ca ou"


@pytest.mark.parametrize("language", ["fr", "en", None])
def test_accented_and_plain_spellings_analyze_the_same(language: str | None) -> None:
    accented = analyze("échéance", language)
    assert accented == analyze("echeance", language)
    assert accented == analyze("ÉCHÉANCE", language)
    assert len(accented) == 1
    assert accented[0].isascii()


def test_english_stemming_merges_plural() -> None:
    assert analyze("payments", "en") == analyze("payment", "en") == ["payment"]
    assert analyze("Paying the fees", "en") == analyze("pay fee", "en")


def test_french_stemming_merges_plural_with_accents() -> None:
    plural = analyze("réclamations", "fr")
    assert plural == analyze("réclamation", "fr")
    assert plural == analyze("reclamation", "fr")
    assert len(plural) == 1


def test_english_stop_words_removed() -> None:
    assert analyze("the payment of the card", "en") == ["payment", "card"]


def test_french_stop_words_removed() -> None:
    assert analyze("le délai de la carte", "fr") == analyze("délai carte", "fr")
    assert len(analyze("le délai de la carte", "fr")) == 2


@pytest.mark.parametrize(
    "sentence",
    [
        "Le client doit déposer sa réclamation dans les trente jours suivant l'opération.",
        "Quelle est l'échéance du prêt immobilier pour une entreprise ?",
        "Les frais sont prélevés sur le compte et la carte est renouvelée.",
    ],
)
def test_detect_language_french(sentence: str) -> None:
    assert detect_language(sentence) == "fr"


@pytest.mark.parametrize(
    "sentence",
    [
        "The customer must file the claim within thirty days of the transaction.",
        "What is the deadline for a business loan?",
        "Fees are charged to the account and the card is renewed.",
    ],
)
def test_detect_language_english(sentence: str) -> None:
    assert detect_language(sentence) == "en"


def test_detect_language_defaults_to_english_when_unsure() -> None:
    assert detect_language("") == "en"
    assert detect_language("IBAN BIC SWIFT 12345") == "en"


def test_elisions_count_towards_french() -> None:
    assert detect_language("l'avis d'un client") == "fr"


@pytest.mark.parametrize(
    "question",
    [
        "Combien de jours de télétravail par semaine un salarié à temps plein peut-il prendre ?",
        "Quel montant en 2003",
        "En quelle année Jakob Böhme tombe-t-il malade ?",
    ],
)
def test_detect_language_short_french_questions(question: str) -> None:
    # Few function words: interrogatives, pronouns and accented letters must decide.
    assert detect_language(question) == "fr"


def test_an_accented_loanword_does_not_make_english_french() -> None:
    assert detect_language("Where is the café near the branch?") == "en"


# -- sentence splitters: one rule per purpose ----------------------------------------------


def test_chunk_sentences_break_only_before_what_starts_a_sentence() -> None:
    from indexes.text import chunk_sentences

    assert chunk_sentences("Rates rose. Fees fell! Why? 3 banks agreed.") == [
        "Rates rose.", "Fees fell!", "Why?", "3 banks agreed."]
    # Abbreviations and decimals before a lower-case word stay whole; ; and : break too.
    assert chunk_sentences("Rate is 1.5 percent. e.g. not split") == [
        "Rate is 1.5 percent. e.g. not split"]
    assert chunk_sentences("Two rules: First one; Second one.  ") == [
        "Two rules:", "First one;", "Second one."]


def test_answer_sentences_break_at_full_stops_and_at_every_line_break() -> None:
    from indexes.text import answer_sentences

    # Unlike chunk sentences, any word may follow a break ("e.g." ends one).
    assert answer_sentences("Fee is 5 [1]. e.g. more\n- a point\n\n- another") == [
        "Fee is 5 [1].", "e.g.", "more", "- a point", "- another"]
    # Unstripped pieces: a marker after the full stop opens the next one.
    assert answer_sentences("Fee is 5. [1] Next.") == ["Fee is 5.", "[1] Next."]


def test_reply_sentences_keep_line_breaks_inside_sentences() -> None:
    from indexes.text import reply_sentences

    assert reply_sentences("First line\nstill the first. Second!") == [
        "First line\nstill the first.", "Second!"]
    assert reply_sentences("") == [""]


def test_passage_sentence_spans_cover_each_quotable_sentence() -> None:
    from indexes.text import passage_sentence_spans

    text = "Accounts open online. Why?! Fees\nare due."
    assert [text[a:b] for a, b in passage_sentence_spans(text)] == [
        "Accounts open online.", " Why?!", " Fees", "are due."]
    assert passage_sentence_spans("") == []


def test_rewrite_sentences_changes_only_the_rewritten_units() -> None:
    from indexes.text import rewrite_sentences

    text = "Keep this. Drop that!! And\nkeep."
    assert rewrite_sentences(text, lambda s: s) == text
    dropped = rewrite_sentences(text, lambda s: "X" if "Drop" in s else s)
    # One closing mark per unit: the second "!" is a unit of its own and stays.
    assert dropped == "Keep this.X! And\nkeep."
