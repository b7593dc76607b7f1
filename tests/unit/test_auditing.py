"""The audit record builders: each kind's body, as the trail has always stored it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from api.auditing import (
    Channel,
    Denial,
    Provenance,
    RecordKind,
    append,
    ask_record,
    delete_record,
    denied_record,
    interrupted_record,
    search_record,
    set_groups_record,
    upload_record,
)
from api.auth import Identity
from indexes.audit import AuditLog, AuditSeal
from indexes.library import DocumentIndex
from rag.answers import Answer, RefusalReason
from rag.citations import Citation, Origin
from rag.generation import GenerationConfig
from rag.prompt import PROMPT_VERSION
from rag.retrieval import Hit, RetrievalConfig, Retriever
from rag.search import Retrieval
from rag.verification import SentenceCheck
from tests.unit.fakes import FakeEmbedder, MakeItem

ALICE = Identity("alice", frozenset({"risk", "staff"}), frozenset({"employee"}), "api_key")
MODELS = Provenance("fake-hash-64", "model.gguf", "ab" * 32, GenerationConfig(max_tokens=64))
TEXT = "The maximum loan-to-value for a buy-to-let mortgage is 70 percent."


def _hits(index: DocumentIndex, embedder: FakeEmbedder, item: MakeItem) -> list[Hit]:
    index.add([item("Policy", [TEXT], groups=("risk",)), item("Cards", ["Card fee five."])])
    return Retriever(index, embedder, RetrievalConfig()).search("buy-to-let loan-to-value", 2)


def test_a_search_record_names_every_chunk_returned_and_the_translation(
    index: DocumentIndex, embedder: FakeEmbedder, item: MakeItem
) -> None:
    hits = _hits(index, embedder, item)
    entry = search_record(ALICE, Channel.HTTP, "ltv?", Retrieval(tuple(hits), "LTV?"),
                          "fake-hash-64")
    body = entry.body()
    assert entry.kind is RecordKind.SEARCH and entry.user == "alice"
    assert body["kind"] == "search" and body["channel"] == "http"
    assert body["groups"] == ["risk", "staff"] and body["roles"] == ["employee"]
    assert body["question"] == "ltv?" and body["search_query"] == "LTV?"
    first = body["retrieved"][0]
    assert first["document"] == "/docs/Policy.txt" and first["document_version"] == 1
    assert first["content_sha256"] == hashlib.sha256(TEXT.encode()).hexdigest()


def test_an_ask_record_holds_the_answer_its_citations_checks_and_models(
    index: DocumentIndex, embedder: FakeEmbedder, item: MakeItem
) -> None:
    hits = _hits(index, embedder, item)
    chunk = hits[0].stored.chunk
    citation = Citation(1, 0, chunk.chunk_id, chunk.doc_id, "Policy", "/docs/Policy.txt",
                        None, "", "70 percent", 55, 65, Origin.MODEL, 0.9)
    check = SentenceCheck(0, "It is 70 percent.", True, 0.9, (1,), "supported")
    answer = Answer("ltv?", "It is 70 percent. [1]", False, (citation,), tuple(hits),
                    "model.gguf", checks=(check,), search_query=None)
    body = ask_record(ALICE, Channel.CLI, answer, MODELS).body()
    assert body["kind"] == "ask" and body["channel"] == "cli" and body["refused"] is False
    assert body["answer"] == "It is 70 percent. [1]" and body["refusal_reason"] is None
    [cited] = body["cited"]
    assert cited["chunk_id"] == chunk.chunk_id and cited["quote"] == "70 percent"
    assert (cited["number"], cited["start"], cited["end"], cited["origin"]) == (1, 55, 65,
                                                                                "model")
    assert len(body["retrieved"]) == 2
    assert body["sentences"] == [{"text": "It is 70 percent.", "verified": True, "support": 0.9}]
    assert body["model"] == "model.gguf" and body["model_sha256"] == "ab" * 32
    assert body["embedding_model"] == "fake-hash-64" and body["prompt_version"] == PROMPT_VERSION
    assert body["generation"]["max_tokens"] == 64
    json.dumps(body)  # every value is plain JSON


def test_a_refusal_records_its_reason_as_text() -> None:
    answer = Answer("q", "I don't know.", True, (), (), "m",
                    refusal_reason=RefusalReason.ANSWER_CHECK)
    body = ask_record(ALICE, Channel.HTTP, answer, MODELS).body()
    assert body["refusal_reason"] == "answer-check" and type(body["refusal_reason"]) is str


def test_an_interrupted_answer_records_what_was_sent() -> None:
    body = interrupted_record(ALICE, Channel.HTTP, "q?", "The max", MODELS).body()
    assert body == {
        "kind": "ask", "channel": "http", "user": "alice", "groups": ["risk", "staff"],
        "roles": ["employee"], "conversation_id": None, "question": "q?", "interrupted": True,
        "sent": "The max",
        "model": "model.gguf", "embedding_model": "fake-hash-64",
        "prompt_version": PROMPT_VERSION,
    }


def test_document_records_keep_their_shapes() -> None:
    assert upload_record(ALICE, "/data/uploads/x/a.pdf", ("risk",), "ok").body() == {
        "kind": "upload", "user": "alice", "file": "/data/uploads/x/a.pdf",
        "groups": ["risk"], "status": "ok"}
    assert delete_record(ALICE, "d1").body() == {"kind": "delete", "user": "alice",
                                                 "doc_id": "d1"}
    assert set_groups_record(ALICE, "d1", ["staff"]).body() == {
        "kind": "set_groups", "user": "alice", "doc_id": "d1", "groups": ["staff"]}


def test_append_files_the_record_under_its_user_in_the_chain(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.sqlite3",
                   AuditSeal(tmp_path / "keys" / "audit.key", tmp_path / "keys" / "anchors"))
    append(log, delete_record(ALICE, "d1"))
    append(log, upload_record(ALICE, "f", ["risk"], "ok"))
    records = list(log.records())
    assert [r.user for r in records] == ["alice", "alice"]
    assert [r.body["kind"] for r in records] == ["delete", "upload"]
    assert log.verify() is None
    log.close()


def test_a_denied_request_names_what_was_asked_never_the_credential() -> None:
    denial = Denial(403, "GET", "/v1/audit", "/v1/audit", "10.1.2.3", "alice", "ab" * 8)
    assert denied_record(denial, "2026-12-02T10:00:00+00:00").body() == {
        "kind": "denied", "user": "alice", "channel": "http", "status": 403,
        "method": "GET", "route": "/v1/audit", "path": "/v1/audit", "client": "10.1.2.3",
        "credential": "ab" * 8, "refused_at": "2026-12-02T10:00:00+00:00"}
    anonymous = Denial(401, "GET", "/v1/ask", "/v1/ask", "10.1.2.3", None, None)
    assert denied_record(anonymous, "t").user == ""  # no valid credential: nobody's
