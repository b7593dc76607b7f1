"""The everyday commands in-process, over the fake models through the real wiring."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit.cli_kit import fake_wiring, records, run, write_corpus
from tests.unit.fakes import FakeGenerator
from tests.unit.http_kit import LTV_ANSWER, LTV_QUESTION


def test_ingest_prints_the_summary_and_skips_unchanged_files(tmp_path: Path) -> None:
    wiring, corpus = fake_wiring(tmp_path), write_corpus(tmp_path)
    first = run(wiring, "ingest", str(corpus))
    assert first.exit_code == 0, first.output
    assert "Ingestion summary" in first.stdout and "ok 2, unchanged 0, failed 0" in first.stdout
    assert "no access groups" not in first.stdout
    again = run(wiring, "ingest", str(corpus))
    assert "ok 0, unchanged 2" in again.stdout


def test_ingest_warns_of_documents_nobody_may_read_and_fails_on_a_bad_file(
    tmp_path: Path
) -> None:
    wiring = fake_wiring(tmp_path)
    loose = tmp_path / "loose.jsonl"
    loose.write_text('{"_id": "a", "title": "A", "text": "Some text here."}\n')
    broken = tmp_path / "broken.jsonl"
    broken.write_text("{not json\n")
    result = run(wiring, "ingest", str(loose), str(broken))
    assert result.exit_code == 1
    assert "failed 1" in result.stdout and "have no access groups" in result.stdout
    grouped = run(wiring, "ingest", "--groups", "staff,risk", str(loose))
    assert grouped.exit_code == 0


def test_search_prints_ranked_passages_and_is_audited(tmp_path: Path) -> None:
    wiring = fake_wiring(tmp_path)
    run(wiring, "ingest", str(write_corpus(tmp_path)))
    result = run(wiring, "search", "buy-to-let loan-to-value", "--top-k", "1")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("1. Retail Credit Policy  score ")
    assert "searched translated" not in result.stdout
    [record] = records(tmp_path)
    assert record["kind"] == "search" and record["channel"] == "cli"
    assert str(record["user"]).startswith("local:") and record["roles"] == ["admin"]
    assert record["search_query"] is None


def test_a_foreign_search_says_which_translation_it_used(tmp_path: Path) -> None:
    generator = FakeGenerator()
    french = "Quelle est la quotité maximale d'un prêt immobilier locatif ?"
    generator.translations[french] = LTV_QUESTION
    wiring = fake_wiring(tmp_path, generator=generator)
    run(wiring, "ingest", str(write_corpus(tmp_path)))
    result = run(wiring, "search", french, "-k", "1")
    assert f"(searched translated: {LTV_QUESTION})" in result.stdout
    assert "Retail Credit Policy" in result.stdout
    assert records(tmp_path)[0]["search_query"] == LTV_QUESTION


def test_ask_streams_the_draft_then_the_sources_and_is_audited(tmp_path: Path) -> None:
    wiring = fake_wiring(tmp_path, generator=FakeGenerator([LTV_ANSWER]))
    run(wiring, "ingest", str(write_corpus(tmp_path)))
    result = run(wiring, "ask", LTV_QUESTION)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == LTV_ANSWER
    assert any(line.startswith("  [1] Retail Credit Policy") for line in lines)
    [record] = records(tmp_path)
    assert record["kind"] == "ask" and record["channel"] == "cli" and not record["refused"]
    assert record["model"] == "fake-llm"


def test_a_refusal_says_nothing_was_cited(tmp_path: Path) -> None:
    wiring = fake_wiring(tmp_path)
    result = run(wiring, "ask", "Who is the chief executive?")
    assert result.exit_code == 0
    assert "I don't know" in result.stdout and "(no relevant source: nothing cited)" in \
        result.stdout
    assert records(tmp_path)[0]["refusal_reason"] == "relevance"


def test_serve_prints_where_it_listens_and_runs_the_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    started: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: started.update(kw, app=app))
    result = run(fake_wiring(tmp_path), "serve", "--port", "8123")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Coffre API on http://127.0.0.1:8123")
    assert "Bearer KEY" in result.stdout
    assert started["host"] == "127.0.0.1" and started["port"] == 8123


def test_demo_ingests_answers_then_serves_with_a_demo_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: None)
    wiring = fake_wiring(tmp_path, generator=FakeGenerator([LTV_ANSWER]))
    result = run(wiring, "demo", "--corpus", str(write_corpus(tmp_path)))
    assert result.exit_code == 0, result.output
    assert "Ingestion summary" in result.stdout
    assert "Demo API key (employee, group staff): cof_" in result.stdout
    assert [r["kind"] for r in records(tmp_path)] == ["ask", "ask", "ask"]
    quiet = run(wiring, "demo", "--no-serve", "--corpus", str(write_corpus(tmp_path)))
    assert quiet.exit_code == 0 and "Demo API key" not in quiet.stdout


def test_keys_are_created_listed_and_revoked(tmp_path: Path) -> None:
    wiring = fake_wiring(tmp_path)
    created = run(wiring, "keys", "create", "--user", "alice", "--role", "employee",
                  "--groups", "risk,staff")
    assert created.exit_code == 0 and "for alice (employee; groups risk,staff)" in created.stdout
    secret = run(wiring, "keys", "create", "--user", "claire", "--role", "compliance",
                 "--quiet").stdout.strip()
    assert secret.startswith("cof_") and "\n" not in secret
    listed = run(wiring, "keys", "list")
    assert "alice" in listed.stdout and "claire" in listed.stdout
    key_id = secret.split("_")[1]
    assert run(wiring, "keys", "revoke", key_id).stdout.strip() == f"key {key_id} revoked"


def test_the_audit_trail_is_verified_and_exported(tmp_path: Path) -> None:
    wiring = fake_wiring(tmp_path)
    run(wiring, "search", "anything")
    run(wiring, "search", "anything else")
    verified = run(wiring, "audit", "verify")
    assert verified.exit_code == 0 and "audit trail intact (2 records)" in verified.stdout
    exported = [json.loads(line) for line in run(wiring, "audit", "export").stdout.splitlines()]
    assert [e["body"]["question"] for e in exported] == ["anything", "anything else"]
    out = tmp_path / "audit.jsonl"
    assert run(wiring, "audit", "export", "--out", str(out)).exit_code == 0
    assert len(out.read_text().splitlines()) == 2


def test_a_tampered_trail_names_the_record(tmp_path: Path) -> None:
    import sqlite3

    wiring = fake_wiring(tmp_path)
    run(wiring, "search", "one")
    run(wiring, "search", "two")
    db = sqlite3.connect(str(tmp_path / "data" / "audit.sqlite3"), isolation_level=None)
    db.execute("UPDATE audit SET user = 'mallory' WHERE seq = 1")
    db.close()
    result = run(wiring, "audit", "verify")
    assert result.exit_code == 1
    assert result.stderr.strip() == "audit trail broken at record 1: edited, deleted or reordered"


def test_models_are_listed_with_the_selected_one_marked(tmp_path: Path) -> None:
    from rag import catalogue

    result = run(fake_wiring(tmp_path), "models", "list")
    assert result.exit_code == 0
    assert f"{catalogue.DEFAULT_MODEL} *" in result.stdout
    assert f"models folder {tmp_path / 'models'}" in result.stdout


class InterruptedGenerator(FakeGenerator):
    """Answers one piece, then the operator presses Ctrl-C (delivered while it generates)."""

    def stream(self, messages, config):  # type: ignore[no-untyped-def]
        yield "The maximum loan-to-value "
        raise KeyboardInterrupt


def test_ctrl_c_during_ask_closes_the_stream_and_audits_the_interrupted_answer(
    tmp_path: Path,
) -> None:
    generator = InterruptedGenerator()
    wiring = fake_wiring(tmp_path, generator=generator)
    run(wiring, "ingest", str(write_corpus(tmp_path)))
    result = run(wiring, "ask", LTV_QUESTION)
    assert result.exit_code == 130, result.output
    assert "Interrupted" in result.stderr and "Traceback" not in result.output
    [record] = records(tmp_path)
    assert record["kind"] == "ask" and record["interrupted"] is True
    assert record["sent"] == "The maximum loan-to-value " and record["channel"] == "cli"
