"""The cross-encoder stage, with a tiny cross-encoder built by the test itself."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from sentence_transformers import CrossEncoder
from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

from api.settings import load_settings
from api.wiring import build_services
from indexes.embedder import default_embedding_model_path
from rag.generation import default_llm_path
from tests.integration.conftest import DEMO_CORPUS

pytestmark = [
    pytest.mark.integration,
    # torch's tracer warns about the exported models' Python branches: the export is checked
    # by comparing its outputs with the original model's.
    pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning"),
]


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tiny-cross-encoder")
    tokenizer = BertTokenizerFast.from_pretrained(str(default_embedding_model_path()))
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=64, num_labels=1)
    torch.manual_seed(7)
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_reranker_reorders_candidates_by_cross_encoder_scores(
    tiny_cross_encoder: Path, tmp_path: Path
) -> None:
    services = build_services(load_settings(
        data_dir=tmp_path, reranker_model=tiny_cross_encoder, rerank_depth=8,
        llm_model=default_llm_path()))
    services.ingester.run([DEMO_CORPUS / "it-security-faq.md", DEMO_CORPUS / "fee-schedule.xlsx"])
    query = "How often must passwords be changed?"
    hits = services.retriever.search(query, 5)
    assert len(hits) == 5
    reference = CrossEncoder(str(tiny_cross_encoder)).predict(
        [(query, h.stored.chunk.text) for h in hits])
    assert [h.rerank_score for h in hits] == pytest.approx([float(s) for s in reference])
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    # Without the reranker, the fused order is what comes back.
    plain = build_services(
        load_settings(data_dir=tmp_path, llm_model=default_llm_path())
    ).retriever.search(query, 5)
    assert all(h.rerank_score is None for h in plain)
    services.close()


def test_a_missing_reranker_folder_is_a_settings_error(tmp_path: Path) -> None:
    from api.settings import SettingsError

    with pytest.raises(SettingsError, match="COFFRE_RERANKER_MODEL"):
        load_settings(reranker_model=tmp_path / "nope")


def test_an_onnx_export_scores_like_the_model_it_came_from(
    tiny_cross_encoder: Path, tmp_path: Path
) -> None:
    from rag.reranking import OnnxCrossEncoderReranker, load_reranker

    model = BertForSequenceClassification.from_pretrained(str(tiny_cross_encoder)).eval()
    tokenizer = BertTokenizerFast.from_pretrained(str(tiny_cross_encoder))
    onnx_dir = tmp_path / "onnx"
    onnx_dir.mkdir()
    example = tokenizer([("q", "p")], return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {name: {0: "batch", 1: "tokens"} for name in names}
    torch.onnx.export(model, tuple(example[n] for n in names), str(onnx_dir / "model.onnx"),
                      input_names=names, output_names=["logits"], dynamic_axes=axes,
                      dynamo=False)
    tokenizer.backend_tokenizer.save(str(onnx_dir / "tokenizer.json"))
    reranker = load_reranker(onnx_dir)
    assert isinstance(reranker, OnnxCrossEncoderReranker)
    query = "How often must passwords be changed?"
    passages = ["Passwords are changed every 90 days.", "Branches open at nine.", "Fees " * 50]
    with torch.no_grad():
        batch = tokenizer([(query, p) for p in passages], padding=True, return_tensors="pt")
        expected = model(**batch).logits[:, 0].tolist()
    assert reranker.score(query, passages) == pytest.approx(expected, abs=1e-4)


def test_the_bundled_reranker_puts_the_answering_passage_first(tmp_path: Path) -> None:
    from api.wiring import build_reranker

    reranker = build_reranker(load_settings(data_dir=tmp_path, reranker_model=Path("bundled")))
    assert reranker is not None
    scores = reranker.score("How often must administrators change their password?", [
        "Branches open at 09:00 and close at 17:30.",
        "Administrator accounts must change their password every 60 days.",
        "Le mot de passe des administrateurs change tous les 60 jours.",
    ])
    assert scores[1] > scores[2] > scores[0]
