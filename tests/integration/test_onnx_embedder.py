"""The ONNX embedder: an export of the bundled model embeds like the model, end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import BertModel, BertTokenizerFast

from api.embedder_wiring import build_embedder
from api.settings import BGE_SMALL, load_settings
from api.wiring import build_services
from indexes.embedder import SentenceTransformerEmbedder, default_embedding_model_path
from indexes.errors import EmbedderError
from indexes.onnx_embedder import OnnxEmbedder
from rag.generation import default_llm_path
from rag.retrieval import SearchMode
from tests.integration.conftest import DEMO_CORPUS

pytestmark = [
    pytest.mark.integration,
    # torch's tracer warns about the exported models' Python branches: the export is checked
    # by comparing its outputs with the original model's.
    pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning"),
]

TEXTS = [
    "Administrator accounts must change their password every 60 days.",
    "Branches open at 09:00.",
    "Le mot de passe des administrateurs change tous les 60 jours. " * 60,  # truncated
    "Wire transfers after 15:30 are executed the next business day.",
]


@pytest.fixture(scope="module")
def minilm_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """all-MiniLM-L6-v2 exported to ONNX by the test (no pooling file: mean by default)."""
    source = default_embedding_model_path()
    folder = tmp_path_factory.mktemp("minilm-onnx")
    model = BertModel.from_pretrained(str(source)).eval()
    tokenizer = BertTokenizerFast.from_pretrained(str(source))
    example = tokenizer(["a query"], return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {name: {0: "batch", 1: "tokens"} for name in names}

    class ByName(torch.nn.Module):
        """Inputs by name: BertModel's positional order differs between versions."""

        def __init__(self) -> None:
            super().__init__()
            self.bert = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                    token_type_ids: torch.Tensor) -> torch.Tensor:
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state

    torch.onnx.export(ByName(), tuple(example[n] for n in names), str(folder / "model.onnx"),
                      input_names=names, output_names=["last_hidden_state"],
                      dynamic_axes=axes, dynamo=False)
    tokenizer.backend_tokenizer.save(str(folder / "tokenizer.json"))
    return folder


def test_an_onnx_export_embeds_like_the_sentence_transformers_model(minilm_onnx: Path) -> None:
    reference = SentenceTransformerEmbedder(default_embedding_model_path())
    onnx = OnnxEmbedder(minilm_onnx, max_length=reference.max_tokens + 2, batch_size=3)
    assert onnx.pooling == "mean"
    assert onnx.dimension == reference.dimension == 384
    # Passages come back in input order although they are batched by length.
    np.testing.assert_allclose(
        onnx.embed_passages(TEXTS), reference.embed_passages(TEXTS), atol=2e-4)
    np.testing.assert_allclose(
        onnx.embed_query(TEXTS[0]), reference.embed_query(TEXTS[0]), atol=2e-4)
    assert onnx.count_tokens(TEXTS[2]) == reference.count_tokens(TEXTS[2]) > 512
    assert onnx.embed_query("word " * 5000).shape == (384,)
    assert onnx.embed_passages([]).shape == (0, 384)


def test_pooling_is_part_of_the_model_identity(minilm_onnx: Path) -> None:
    mean = OnnxEmbedder(minilm_onnx)
    cls = OnnxEmbedder(minilm_onnx, pooling="cls")
    assert mean.model_id != cls.model_id
    assert not np.allclose(mean.embed_query(TEXTS[0]), cls.embed_query(TEXTS[0]))


def test_a_folder_without_an_export_is_refused(tmp_path: Path) -> None:
    with pytest.raises(EmbedderError, match=r"model\.onnx"):
        OnnxEmbedder(tmp_path)


def test_the_bundled_bge_small_finds_the_answering_passage(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, embedding_model=BGE_SMALL,
                             llm_model=default_llm_path())
    embedder = build_embedder(settings)
    assert isinstance(embedder, OnnxEmbedder) and embedder.pooling == "cls"
    services = build_services(settings)
    services.ingester.run([DEMO_CORPUS / "it-security-faq.md", DEMO_CORPUS / "fee-schedule.xlsx"])
    hits = services.retriever.search(
        "I typed my password into a phishing page, who do I call?", 3, mode=SearchMode.VECTOR)
    assert hits and "7070" in hits[0].stored.chunk.text
    services.close()
