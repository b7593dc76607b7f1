"""Cross-lingual search: questions outside the embedder's language searched translated."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexes.library import DocumentIndex
from rag.answering import AnswerConfig, Answerer
from rag.answers import Query, RefusalReason
from rag.citations import CitationBuilder
from rag.retrieval import RetrievalConfig, Retriever
from rag.search import Searcher
from rag.translation import QueryTranslator, clean_translation
from tests.unit.fakes import FakeEmbedder, FakeGenerator, MakeItem

LTV = ("Maximum loan-to-value for a residential mortgage to a first-time buyer is 90 percent, "
       "with mortgage indemnity insurance above 80 percent.")
TELETRAVAIL = "Un collaborateur à temps plein peut télétravailler deux jours par semaine."
QUESTION_LTV = "Quelle est la quotité maximale pour un prêt immobilier d'un primo-accédant ?"
ENGLISH_LTV = "What is the maximum loan-to-value for a first-time buyer mortgage?"
QUESTION_DAYS = "Combien de jours de télétravail par semaine pour un temps plein ?"
ANSWER_FR = "La quotité maximale est de 90 %."
ANSWER_EN = "The maximum loan-to-value for a first-time buyer is 90 percent."


@pytest.fixture
def library(index: DocumentIndex, item: MakeItem) -> DocumentIndex:
    index.add([
        item("Retail Credit Policy", [LTV]),
        item("Politique de télétravail", [TELETRAVAIL], language="fr"),
    ])
    return index


def answerer(
    index: DocumentIndex, embedder: FakeEmbedder, pieces: tuple[str, ...] = ("",),
) -> tuple[Answerer, FakeGenerator]:
    generator = FakeGenerator(pieces)
    generator.translations = {QUESTION_LTV: ENGLISH_LTV, QUESTION_DAYS: "How many remote days?"}
    searcher = Searcher(Retriever(index, embedder, RetrievalConfig()),
                        QueryTranslator(generator, "en"))
    citations = CitationBuilder(embedder.embed_passages, index.similarity)
    return Answerer(searcher, generator, citations,
                    AnswerConfig(top_k=2, min_relevance=0.2)), generator


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("What is the fee?", "What is the fee?"),
        ('Translation: "What is the fee?"\nNote: literal.', "What is the fee?"),
        ("", None),
        ("   \n ", None),
        ("Quels sont les frais ?", None),  # echoed, not translated
        ("Les frais sont de deux euros.", None),  # still French
        ("What is the fee? " * 20, None),  # an answer, not a translation
    ],
)
def test_clean_translation(output: str, expected: str | None) -> None:
    assert clean_translation(output, "Quels sont les frais ?", "en") == expected


def test_a_question_about_a_document_in_another_language_is_found_translated(
    library: DocumentIndex, embedder: FakeEmbedder
) -> None:
    core, generator = answerer(library, embedder)
    found = core.searcher.search(QUESTION_LTV, 2)
    assert generator.translated == [QUESTION_LTV]
    assert found.search_query == ENGLISH_LTV
    assert found.hits[0].stored.document.title == "Retail Credit Policy"
    assert found.seconds > 0


def test_a_question_matching_its_own_language_keeps_its_results(
    library: DocumentIndex, embedder: FakeEmbedder
) -> None:
    core, generator = answerer(library, embedder)
    found = core.searcher.search(QUESTION_DAYS, 2)
    assert generator.translated == [QUESTION_DAYS]
    assert found.search_query is None
    assert found.hits[0].stored.document.title == "Politique de télétravail"


def test_questions_in_the_embedders_language_and_failed_translations_are_searched_as_asked(
    library: DocumentIndex, embedder: FakeEmbedder
) -> None:
    core, generator = answerer(library, embedder)
    assert core.searcher.search("What is the maximum loan-to-value?", 2).search_query is None
    assert generator.translated == []
    untranslatable = "Quelle est la quotité pour un investisseur locatif ?"
    assert core.searcher.search(untranslatable, 2).search_query is None
    assert generator.translated == [untranslatable]


def test_an_answer_from_translated_sources_is_verified_in_their_language(
    library: DocumentIndex, embedder: FakeEmbedder
) -> None:
    core, generator = answerer(library, embedder, (ANSWER_FR + " [1]",))
    generator.translations[ANSWER_FR] = ANSWER_EN
    answer = core.ask(Query(QUESTION_LTV))
    assert not answer.refused, answer.refusal_reason
    assert answer.text == ANSWER_FR + " [1]"  # shown in the question's language
    assert answer.search_query == ENGLISH_LTV
    assert [c.title for c in answer.citations] == ["Retail Credit Policy"]
    assert answer.checks[0].verified and answer.checks[0].text == ANSWER_FR
    # The answer check reads the question in the passages' language.
    assert ENGLISH_LTV in generator.checks[0][-1]["content"]
    # Without its translation the French sentence finds no support in the English passage.
    del generator.translations[ANSWER_FR]
    unverified = core.ask(Query(QUESTION_LTV))
    assert unverified.refused and unverified.refusal_reason is RefusalReason.UNVERIFIED


TABLE = """Product | Maximum LTV | Maximum term
Residential mortgage - first-time buyer | 90% | 35 years
Buy-to-let mortgage | 70% | 25 years
Second home / holiday home mortgage | 75% | 25 years"""
QUESTION_BTL = "Quelle est la quotité maximale d'un prêt buy-to-let ?"
ENGLISH_BTL = "What is the maximum loan-to-value of a buy-to-let mortgage?"
WRONG_ROW = "La quotité maximale d'un prêt buy-to-let est de 75 %."
RIGHT_ROW = "La quotité maximale d'un prêt buy-to-let est de 70 %."
TERM = "La durée maximale est de 25 ans."


def test_a_row_correction_translates_only_the_corrected_sentence(
    index: DocumentIndex, embedder: FakeEmbedder, item: MakeItem
) -> None:
    index.add([item("Credit policy", [TABLE])])
    core, generator = answerer(index, embedder, (f"{WRONG_ROW} [1] {TERM} [1]",))
    generator.translations = {
        QUESTION_BTL: ENGLISH_BTL,
        WRONG_ROW: "The maximum loan-to-value of a buy-to-let mortgage is 75%.",
        RIGHT_ROW: "The maximum loan-to-value of a buy-to-let mortgage is 70%.",
        TERM: "The maximum term of a buy-to-let mortgage is 25 years.",
    }
    answer = core.ask(Query(QUESTION_BTL))
    assert answer.search_query == ENGLISH_BTL
    assert not answer.refused, answer.refusal_reason
    assert [c.verified for c in answer.checks] == [True, True]
    assert "corrected" in answer.checks[0].reason and "70 %" in answer.text
    # Checked as each sentence completes and again after the correction: each sentence
    # text is translated once.
    assert sorted(generator.translated) == sorted([QUESTION_BTL, WRONG_ROW, TERM, RIGHT_ROW])


def test_translation_follows_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from api.settings import load_settings
    from api.wiring import build_translator

    generator = FakeGenerator()
    translator = build_translator(load_settings(), generator)
    assert translator is not None and translator.language == "en"
    assert translator.needed(QUESTION_DAYS) and not translator.needed(ENGLISH_LTV)
    monkeypatch.setenv("COFFRE_EMBEDDING_LANGUAGES", "fr,en")
    both = build_translator(load_settings(), generator)
    assert both is not None and both.language == "fr" and not both.needed(ENGLISH_LTV)
    monkeypatch.setenv("COFFRE_EMBEDDING_LANGUAGES", "*")
    assert build_translator(load_settings(), generator) is None
    monkeypatch.setenv("COFFRE_EMBEDDING_LANGUAGES", "en")
    monkeypatch.setenv("COFFRE_QUERY_TRANSLATION", "false")
    assert build_translator(load_settings(data_dir=Path("x")), generator) is None


def test_over_http_the_translation_is_reported_audited_and_filtered_like_the_question(
    tmp_path: Path, embedder: FakeEmbedder, item: MakeItem
) -> None:
    from fastapi.testclient import TestClient

    from api.admission import Admission, AdmissionConfig
    from api.app import create_app
    from api.auth import Authenticator
    from api.keys import KeyStore
    from api.security_wiring import audit_log
    from api.settings import load_settings
    from api.wiring import Services
    from ingest.job_runner import JobRunner
    from ingest.job_store import JobStore

    index = DocumentIndex(tmp_path / "index", embedder)
    index.add([
        item("Retail Credit Policy", [LTV], groups=("lending",)),
        item("Politique de télétravail", [TELETRAVAIL], language="fr", groups=("staff",)),
    ])
    core, generator = answerer(index, embedder, ("La quotité maximale est de 90 % [1].",))
    generator.translations[ANSWER_FR] = ANSWER_EN
    keys = KeyStore(tmp_path / "auth.sqlite3")
    audit = audit_log(load_settings(data_dir=tmp_path))  # keyed: it is written to
    jobs = JobStore(tmp_path / "jobs.sqlite3")
    services = Services(load_settings(data_dir=tmp_path), embedder, index, None,  # type: ignore[arg-type]
                        core.searcher.retriever, core.searcher, generator, core, keys,
                        Authenticator(keys), audit,
                        admission=Admission(AdmissionConfig(), lambda: 1), jobs=jobs,
                        job_runner=JobRunner(jobs, None, {}))  # type: ignore[arg-type]
    lender, _ = keys.create("lea", ["lending", "staff"], "employee")
    outsider, _ = keys.create("omar", ["staff"], "employee")
    with TestClient(create_app(services, warm_up=False)) as http:
        answered = http.post("/v1/ask", json={"question": QUESTION_LTV},
                             headers={"authorization": f"Bearer {lender}"}).json()
        hidden = http.post("/v1/ask", json={"question": QUESTION_LTV},
                           headers={"authorization": f"Bearer {outsider}"}).json()
    assert not answered["refused"] and answered["search_query"] == ENGLISH_LTV
    assert answered["citations"][0]["title"] == "Retail Credit Policy"
    # The translated search sees only what the caller may read.
    assert all(s["document"]["title"] != "Retail Credit Policy" for s in hidden["sources"])
    assert hidden["search_query"] is None
    bodies = [r.body for r in audit.records() if r.body["kind"] == "ask"]
    assert [b["search_query"] for b in bodies] == [ENGLISH_LTV, None]
    index.close()
