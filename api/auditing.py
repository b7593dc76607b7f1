"""What goes into the audit trail: one builder per kind of record, every channel's.

The builders take only what a record holds (the caller, the result, which models made it)
and return an `AuditEntry`; `append` writes it. Record bodies keep the shapes the trail has
always had, so older records and newer ones are searched and exported alike.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from api.auth import Identity
from indexes.audit import AuditLog, AuditRecord
from indexes.audit_chain import SystemKind
from indexes.records import DocumentRecord, StoredChunk
from rag.answers import Answer
from rag.generation import GenerationConfig
from rag.prompt import PROMPT_VERSION
from rag.retrieval import Hit
from rag.search import Retrieval

SHOWN_SEQS = 1000  # record numbers an audit search's record lists (GET /v1/audit's limit)


class RecordKind(StrEnum):
    """What an audit record is about."""

    ASK = "ask"
    SEARCH = "search"
    UPLOAD = "upload"
    DELETE = "delete"
    SET_GROUPS = "set_groups"
    INGEST_JOB = "ingest_job"  # an ingestion job queued or cancelled (api/http/jobs.py)
    REFUSED = "refused"  # a sender not answered for who they are (not registered, no role)
    CHUNK_READ = "chunk_read"  # a stored passage shown (GET /v1/chunks/{id})
    DOCUMENT_LIST = "document_list"  # the documents a caller may read, listed
    AUDIT_SEARCH = "audit_search"  # the audit trail searched or exported
    DENIED = "denied"  # an HTTP request answered 401, 403, 404 or 413
    DENIED_REPEATS = "denied_repeats"  # the others of a window, counted (api.refusals)
    # Written by the trail itself (indexes.audit_chain.SystemKind), filed under "coffre".
    PRUNE = SystemKind.PRUNE.value
    KEY_START = SystemKind.KEY_START.value


class Channel(StrEnum):
    """Where a question came from."""

    HTTP = "http"
    CLI = "cli"
    OPENAI = "openai"  # the OpenAI-compatible chat completions (chat front ends)
    TEAMS = "teams"  # the Microsoft Teams bot
    WEB = "web"  # the chat page served at /chat


@dataclass(frozen=True)
class Provenance:
    """Which models produced an answer, as the trail names them."""

    embedding_model: str
    answer_model: str
    answer_model_sha256: str | None  # None for a model with no file (a test stand-in)
    generation: GenerationConfig


@dataclass(frozen=True)
class AuditEntry:
    """One record to append: its kind, the user it is filed under, and its other fields."""

    kind: RecordKind
    user: str
    fields: Mapping[str, Any]

    def body(self) -> dict[str, Any]:
        """The stored JSON body: the fields with the kind and the user."""
        return {"kind": self.kind.value, "user": self.user, **self.fields}


def append(log: AuditLog, entry: AuditEntry) -> AuditRecord:
    """Write `entry` to the trail; AuditError when it cannot be stored (then no answer)."""
    return log.append(entry.user, entry.body())


def _caller(identity: Identity, channel: Channel) -> dict[str, Any]:
    return {"channel": channel.value, "groups": sorted(identity.groups),
            "roles": sorted(identity.roles)}


def _passage(stored: StoredChunk) -> dict[str, Any]:
    chunk, document = stored.chunk, stored.document
    return {
        "chunk_id": chunk.chunk_id,
        "content_sha256": hashlib.sha256(chunk.text.encode("utf-8")).hexdigest(),
        "doc_id": document.doc_id,
        "document": document.source_path,
        "document_version": document.version,
        "page": chunk.page,
    }


def _chunk_entry(hit: Hit) -> dict[str, Any]:
    return {**_passage(hit.stored), "score": round(hit.score, 6)}


def search_record(
    identity: Identity, channel: Channel, query: str, retrieval: Retrieval,
    embedding_model: str,
) -> AuditEntry:
    """A search: the query, the translation it was searched with, every chunk returned."""
    return AuditEntry(RecordKind.SEARCH, identity.user, {
        **_caller(identity, channel), "question": query,
        "search_query": retrieval.search_query,
        "retrieved": [_chunk_entry(h) for h in retrieval.hits],
        "embedding_model": embedding_model,
    })


def _cited(answer: Answer) -> list[dict[str, Any]]:
    by_id = {h.stored.chunk.chunk_id: h for h in answer.sources}
    return [
        {**_chunk_entry(by_id[c.chunk_id]), "number": c.number, "quote": c.quote,
         "start": c.start, "end": c.end, "origin": str(c.origin)}
        for c in answer.citations if c.chunk_id in by_id
    ]


def ask_record(
    identity: Identity, channel: Channel, answer: Answer, models: Provenance,
    conversation_id: str | None = None,
) -> AuditEntry:
    """An answer: question, answer, every cited and retrieved chunk, and the models; the
    channel's conversation id, when it has one, ties a follow-up to its earlier turns."""
    reason = answer.refusal_reason
    return AuditEntry(RecordKind.ASK, identity.user, {
        **_caller(identity, channel), "conversation_id": conversation_id,
        "question": answer.question, "answer": answer.text, "refused": answer.refused,
        "refusal_reason": reason.value if reason is not None else None,
        "search_query": answer.search_query,
        "standalone_question": answer.standalone_question,
        "cited": _cited(answer),
        "retrieved": [_chunk_entry(h) for h in answer.sources],
        "sentences": [{"text": c.text, "verified": c.verified, "support": c.support}
                      for c in answer.checks],
        "model": answer.model,
        "endpoint": answer.served_by,  # endpoint URL or local:N; None: the in-process model
        "model_sha256": models.answer_model_sha256,
        "embedding_model": models.embedding_model,
        "prompt_version": PROMPT_VERSION,
        "generation": asdict(models.generation),
    })


def interrupted_record(
    identity: Identity, channel: Channel, question: str, sent: str, models: Provenance,
    conversation_id: str | None = None,
) -> AuditEntry:
    """An answer cut short (the client went away, Ctrl-C): what had been sent of it."""
    return AuditEntry(RecordKind.ASK, identity.user, {
        **_caller(identity, channel), "conversation_id": conversation_id,
        "question": question, "interrupted": True, "sent": sent,
        "model": models.answer_model,
        "embedding_model": models.embedding_model,
        "prompt_version": PROMPT_VERSION,
    })


def refused_record(
    user: str, channel: Channel, reason: str, details: Mapping[str, Any]
) -> AuditEntry:
    """A sender not answered for who they are: why, and the channel's ids of them (never
    what they asked, which Coffre was not entitled to read)."""
    return AuditEntry(RecordKind.REFUSED, user,
                      {"channel": channel.value, "reason": reason, **details})


def upload_record(identity: Identity, file: str, groups: Sequence[str], status: str) -> AuditEntry:
    """An uploaded document: where it was kept, its groups, and what ingestion made of it."""
    return AuditEntry(RecordKind.UPLOAD, identity.user,
                      {"file": file, "groups": list(groups), "status": status})


class JobAction(StrEnum):
    """What was done to an ingestion job."""

    QUEUED = "queued"
    CANCELLED = "cancelled"


def job_record(identity: Identity, action: JobAction, job_id: str, source: str,
               files: Sequence[str], groups: Sequence[str]) -> AuditEntry:
    """An ingestion job queued or cancelled: which source or files, for which groups."""
    return AuditEntry(RecordKind.INGEST_JOB, identity.user,
                      {"action": action.value, "job_id": job_id, "source": source,
                       "files": list(files), "groups": list(groups)})


def delete_record(identity: Identity, doc_id: str) -> AuditEntry:
    """A deleted document."""
    return AuditEntry(RecordKind.DELETE, identity.user, {"doc_id": doc_id})


def set_groups_record(identity: Identity, doc_id: str, groups: Sequence[str]) -> AuditEntry:
    """A document given new access groups."""
    return AuditEntry(RecordKind.SET_GROUPS, identity.user,
                      {"doc_id": doc_id, "groups": list(groups)})


def chunk_read_record(identity: Identity, channel: Channel, stored: StoredChunk) -> AuditEntry:
    """A passage shown: which, of which document version, and whether the caller saw it
    only by their role (compliance, admin), outside the document's groups."""
    groups = stored.document.groups
    return AuditEntry(RecordKind.CHUNK_READ, identity.user, {
        **_caller(identity, channel), **_passage(stored), "document_groups": list(groups),
        "outside_groups": not set(groups) & identity.groups,
    })


def document_list_record(
    identity: Identity, channel: Channel, documents: Sequence[DocumentRecord]
) -> AuditEntry:
    """A document listing: how many were shown, and a digest of which (ids and versions,
    sorted), so the listing is proven without copying the catalogue into every record."""
    shown = sorted(f"{d.doc_id}:{d.version}" for d in documents)
    return AuditEntry(RecordKind.DOCUMENT_LIST, identity.user, {
        **_caller(identity, channel), "count": len(shown),
        "listing_sha256": hashlib.sha256("\n".join(shown).encode("utf-8")).hexdigest(),
    })


def audit_search_record(
    identity: Identity, channel: Channel, filters: Mapping[str, Any],
    found: Sequence[AuditRecord],
) -> AuditEntry:
    """The audit trail searched (or exported): the filters, and which records were shown
    (their numbers, up to SHOWN_SEQS of them; an export gives its range)."""
    seqs = sorted(r.seq for r in found)
    return AuditEntry(RecordKind.AUDIT_SEARCH, identity.user, {
        **_caller(identity, channel), "filters": dict(filters), "count": len(seqs),
        "records": seqs if len(seqs) <= SHOWN_SEQS else None,
        "first": seqs[0] if seqs else None, "last": seqs[-1] if seqs else None,
    })


@dataclass(frozen=True)
class Denial:
    """An HTTP request refused: what was asked, how it was answered, and by whom, as far
    as is known (`user` None: no valid credential; `credential`: a keyed fingerprint of
    what was presented, never the credential)."""

    status: int
    method: str
    route: str  # the route template, or "unmatched"
    path: str
    client: str
    user: str | None
    credential: str | None


def denied_record(denial: Denial, at: str) -> AuditEntry:
    """One refused request in full (the first of its window: api.refusals)."""
    return AuditEntry(RecordKind.DENIED, denial.user or "", {
        "channel": Channel.HTTP.value, "status": denial.status, "method": denial.method,
        "route": denial.route, "path": denial.path, "client": denial.client,
        "credential": denial.credential, "refused_at": at,
    })


def denied_repeats_record(
    client: str, status: int, route: str, count: int, first: str, last: str,
    credentials: Sequence[str],
) -> AuditEntry:
    """The refusals of one window after its first, counted: client, status and route, how
    many, when, and the fingerprints of the credentials they presented (a few)."""
    return AuditEntry(RecordKind.DENIED_REPEATS, "", {
        "channel": Channel.HTTP.value, "client": client, "status": status, "route": route,
        "count": count, "first_at": first, "last_at": last,
        "credentials": sorted(credentials),
    })
