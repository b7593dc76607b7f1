"""What goes into an audit record for an ask or a search."""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from typing import Any

from api.auth import Identity
from api.wiring import Services
from rag.answering import Answer
from rag.prompt import PROMPT_VERSION
from rag.retrieval import Hit


def _chunk_entry(hit: Hit) -> dict[str, Any]:
    chunk, document = hit.stored.chunk, hit.stored.document
    return {
        "chunk_id": chunk.chunk_id,
        "content_sha256": hashlib.sha256(chunk.text.encode("utf-8")).hexdigest(),
        "doc_id": document.doc_id,
        "document": document.source_path,
        "document_version": document.version,
        "page": chunk.page,
        "score": round(hit.score, 6),
    }


def search_record(
    services: Services, identity: Identity, channel: str, query: str, hits: list[Hit]
) -> dict[str, Any]:
    """The audit body of a search."""
    return {
        "kind": "search", "channel": channel, "user": identity.user,
        "groups": sorted(identity.groups), "roles": sorted(identity.roles), "question": query,
        "retrieved": [_chunk_entry(h) for h in hits],
        "embedding_model": services.embedder.model_id,
    }


def ask_record(
    services: Services, identity: Identity, channel: str, answer: Answer
) -> dict[str, Any]:
    """The audit body of an answer: question, answer, every cited and retrieved chunk, model."""
    by_id = {h.stored.chunk.chunk_id: h for h in answer.sources}
    settings = services.answerer.config.generation
    return {
        "kind": "ask", "channel": channel, "user": identity.user,
        "groups": sorted(identity.groups), "roles": sorted(identity.roles),
        "question": answer.question, "answer": answer.text, "refused": answer.refused,
        "refusal_reason": answer.refusal_reason, "search_query": answer.search_query,
        "cited": [
            {**_chunk_entry(by_id[c.chunk_id]), "number": c.number, "quote": c.quote,
             "start": c.start, "end": c.end, "origin": c.origin}
            for c in answer.citations if c.chunk_id in by_id
        ],
        "retrieved": [_chunk_entry(h) for h in answer.sources],
        "sentences": [{"text": c.text, "verified": c.verified, "support": c.support}
                      for c in answer.checks],
        "model": answer.model,
        "model_sha256": getattr(services.generator, "sha256", None),
        "embedding_model": services.embedder.model_id,
        "prompt_version": PROMPT_VERSION,
        "generation": asdict(settings),
    }


def interrupted_record(
    services: Services, identity: Identity, channel: str, question: str, sent: str
) -> dict[str, Any]:
    """The audit body of an answer cut short (the client went away): what it was sent."""
    return {
        "kind": "ask", "channel": channel, "user": identity.user,
        "groups": sorted(identity.groups), "roles": sorted(identity.roles),
        "question": question, "interrupted": True, "sent": sent,
        "model": services.generator.model_id,
        "embedding_model": services.embedder.model_id,
        "prompt_version": PROMPT_VERSION,
    }
