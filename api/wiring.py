"""Builds Coffre's objects from the settings: the only place they are put together."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from api.admission import Admission, AdmissionConfig
from api.auditing import Provenance
from api.auth import Authenticator
from api.embedder_wiring import build_embedder, embedding_languages, models_dir
from api.generators import LazyGenerator
from api.ingest_wiring import archive_limits, job_store, parse_workers, source_folders
from api.keys import KeyStore
from api.metrics import Metrics, fresh_metrics
from api.security_wiring import audit_log, jwt_config, key_store
from api.settings import BUNDLED, Settings
from indexes.audit import AuditLog
from indexes.embedder import Embedder
from indexes.library import DocumentIndex
from indexes.private_files import restrict_tree
from ingest.chunking import ChunkConfig, Chunker
from ingest.job_runner import JobRunner
from ingest.job_store import JobStore
from ingest.jobs import Ingester
from rag import catalogue
from rag.answering import AnswerConfig, Answerer
from rag.citations import CitationBuilder
from rag.endpoints import EndpointConfig, LocalVocabulary
from rag.generation import GenerationConfig, Generator, LlamaCppGenerator
from rag.pool import GeneratorPool, worker_pool
from rag.remote import endpoint_pool
from rag.reranking import Reranker, bundled_reranker_path, load_reranker
from rag.retrieval import RetrievalConfig, Retriever
from rag.search import Searcher
from rag.translation import QueryTranslator

if TYPE_CHECKING:
    import httpx



@dataclass(frozen=True)
class Services:
    """Everything a channel (HTTP, CLI) needs, built once by `build_services`."""

    settings: Settings
    embedder: Embedder
    index: DocumentIndex
    ingester: Ingester
    retriever: Retriever
    searcher: Searcher
    generator: Generator
    answerer: Answerer
    keys: KeyStore
    authenticator: Authenticator
    audit: AuditLog
    admission: Admission  # answer slots and queue, shared by every answering channel
    jobs: JobStore
    job_runner: JobRunner  # started by the server; the CLI runs its jobs in the foreground
    # Its own registry: every Services (in tests, many at once) counts apart.
    metrics: Metrics = field(default_factory=fresh_metrics)

    def provenance(self) -> Provenance:
        """The models behind this service's answers, as the audit trail names them.

        Builds the answer model if it was not yet; its file's hash is cached, so this is
        cheap once the server has warmed up (or a first answer has run).
        """
        return Provenance(
            embedding_model=self.embedder.model_id,
            answer_model=self.generator.model_id,
            answer_model_sha256=getattr(self.generator, "sha256", None),
            generation=self.answerer.config.generation,
        )

    def close(self) -> None:
        """Stop the parsing workers, release the stores, and the answer model's threads and
        connections if it has any (a pool of generation servers)."""
        self.job_runner.stop()
        self.ingester.close()
        self.jobs.close()
        self.index.close()
        self.audit.close()
        close = getattr(self.generator, "close", None)
        if close is not None:
            close()




def selected_model(settings: Settings) -> str:
    """The catalogue model chosen by COFFRE_LLM or `coffre models use`, else the default."""
    if settings.llm:
        return settings.llm
    selection = models_dir(settings) / "selected.json"
    if selection.is_file():
        return str(json.loads(selection.read_text())["name"])
    return catalogue.DEFAULT_MODEL


def llm_path(settings: Settings) -> Path:
    """The GGUF file to run: explicit path, else the selected catalogue model, else the default."""
    if settings.llm_model:
        return settings.llm_model
    name = selected_model(settings)
    model = catalogue.find(name)
    if not catalogue.is_installed(model, models_dir(settings)):
        raise catalogue.CatalogueError(
            f"model {name} is not installed in {models_dir(settings)}; run "
            f"`coffre models install {name}`, or choose another with COFFRE_LLM "
            f"(`coffre models list`) or COFFRE_LLM_MODEL=/path/to/model.gguf"
        )
    return catalogue.model_path(model, models_dir(settings))


def build_generator(
    settings: Settings, *, transport: httpx.BaseTransport | None = None
) -> Generator:
    """The answer model the settings name, neither loaded nor connected yet: the servers of
    COFFRE_GENERATOR_URLS (`transport` stands in for the network in tests), else
    COFFRE_WORKERS copies of the in-process model, else the one in-process model."""
    urls = [u.strip() for u in settings.generator_urls.split(",") if u.strip()]
    if urls:
        return remote_generator(settings, urls, transport)
    if settings.workers == 1:
        return local_generator(settings)
    # COFFRE_THREADS is per worker; unset, the cores are shared out rather than oversubscribed.
    threads = settings.threads if "threads" in settings.model_fields_set else \
        max(1, settings.threads // settings.workers)
    return worker_pool([local_generator(settings, threads) for _ in range(settings.workers)],
                       wait_s=settings.generation_wait_s)


def local_generator(settings: Settings, threads: int | None = None) -> LlamaCppGenerator:
    """The in-process GGUF model named by the settings (not loaded yet)."""
    return LlamaCppGenerator(
        llm_path(settings),
        context_size=settings.context_size,
        threads=threads or settings.threads,
        gpu_layers=settings.gpu_layers,
        wait_s=settings.generation_wait_s,
        prompt_cache=settings.prompt_cache,
    )


def remote_generator(
    settings: Settings, urls: list[str], transport: httpx.BaseTransport | None = None
) -> GeneratorPool:
    """The generation servers behind one generator. A GGUF file named by COFFRE_LLM_MODEL
    or COFFRE_LLM is their model: read vocabulary-only, it counts tokens and gives the chat
    template here; without one, the servers count them."""
    key = settings.generator_api_key
    configs = [EndpointConfig(url, settings.generator_kind, settings.generator_capacity,
                              settings.generator_model or None,
                              key.get_secret_value() if key else None,
                              settings.generator_timeout_s) for url in urls]
    vocabulary = LocalVocabulary(llm_path(settings)) if settings.llm_model or settings.llm \
        else None
    return endpoint_pool(configs, context_size=settings.context_size, vocabulary=vocabulary,
                         wait_s=settings.generation_wait_s,
                         health_s=settings.generator_health_s, transport=transport)






def retrieval_config(settings: Settings) -> RetrievalConfig:
    """Retrieval settings: mode, fusion, weights, candidates, reranking depth, languages."""
    return RetrievalConfig(
        mode=settings.search_mode,
        fusion=settings.fusion,
        rrf_k=settings.rrf_k,
        vector_weight=settings.vector_weight,
        keyword_weight=settings.keyword_weight,
        candidates=settings.candidates,
        rerank_depth=settings.rerank_depth,
        rerank_weight=settings.rerank_weight,
        embedding_languages=frozenset(embedding_languages(settings)),
        foreign_vector_factor=settings.foreign_vector_factor,
        prefer_named=settings.prefer_named,
    )


def answer_config(settings: Settings) -> AnswerConfig:
    """Answering settings: sources, refusal, verification and generation."""
    return AnswerConfig(
        top_k=settings.top_k,
        min_relevance=settings.min_relevance,
        verification_threshold=settings.verification_threshold,
        drop_unverified=settings.drop_unverified,
        answer_check=settings.answer_check,
        history_tokens=settings.history_tokens,
        generation=GenerationConfig(
            max_tokens=settings.max_answer_tokens, temperature=settings.temperature
        ),
    )








def build_reranker(settings: Settings) -> Reranker | None:
    """The cross-encoder named by COFFRE_RERANKER_MODEL (not loaded yet), or None."""
    if settings.reranker_model is None:
        return None
    folder = (
        bundled_reranker_path() if settings.reranker_model == BUNDLED else settings.reranker_model
    )
    return load_reranker(folder, threads=settings.threads)


def build_translator(settings: Settings, generator: Generator) -> QueryTranslator | None:
    """Translation of questions into the embedder's first language, unless it is
    multilingual ('*') or the setting is off."""
    languages = embedding_languages(settings)
    if not settings.query_translation or not languages or "*" in languages:
        return None
    return QueryTranslator(generator, languages[0], frozenset(languages))




def build_services(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    generator: Generator | None = None,
    reranker: Reranker | None = None,
) -> Services:
    """Wire store, index, embedder, ingester, searcher and answerer from the settings.

    The one seam for other models: tests pass fakes here, evaluation other answer models.
    Models load lazily: nothing heavy happens until the first embedding or answer, and the
    answer model's file is only looked for then (ingest and search work without one).
    """
    # What an older version left readable by others becomes the service user's alone
    # (what is created from now on is created so: indexes.private_files).
    restrict_tree(settings.data_dir)
    embedder = embedder or build_embedder(settings)
    index = DocumentIndex(settings.data_dir / "index", embedder)
    chunker = Chunker(
        ChunkConfig(settings.chunk_size, settings.chunk_overlap, settings.chunk_max_chars),
        embedder.count_tokens,
    )
    ingester = Ingester(index, chunker, max_file_bytes=int(settings.max_file_mb * 1024 * 1024),
                        archive_limits=archive_limits(settings), parser=parse_workers(settings),
                        parse_ahead=settings.parse_workers)
    retriever = Retriever(index, embedder, retrieval_config(settings),
                          reranker or build_reranker(settings))
    generator = generator or LazyGenerator(partial(build_generator, settings))
    searcher = Searcher(retriever, build_translator(settings, generator))
    citations = CitationBuilder(
        embedder.embed_passages, index.similarity, min_support=settings.citation_min_support
    )
    answerer = Answerer(searcher, generator, citations, answer_config(settings))
    keys = key_store(settings)
    slots = admission(settings, generator)
    jobs = job_store(settings)
    return Services(
        settings, embedder, index, ingester, retriever, searcher, generator, answerer, keys,
        Authenticator(keys, jwt_config(settings)), audit_log(settings),
        admission=slots, jobs=jobs, job_runner=JobRunner(jobs, ingester, source_folders(settings)),
        metrics=fresh_metrics(slots),
    )






def admission(settings: Settings, generator: Generator) -> Admission:
    """The answer slots (the generator's capacity unless COFFRE_MAX_ANSWERS says) and queue."""
    config = AdmissionConfig(settings.max_answers, settings.answer_queue,
                             settings.queue_wait_s, settings.service_time_s)
    # Read at the first question: the capacity of a lazily built model needs the model.
    return Admission(config, lambda: generator.capacity)
