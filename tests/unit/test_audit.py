"""The hash-chained audit trail: any edit, deletion, reordering or truncation is detected."""

from __future__ import annotations

import itertools
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from indexes.audit import AuditLog


@pytest.fixture
def log(tmp_path: Path) -> AuditLog:
    audit = AuditLog(tmp_path / "audit.sqlite3")
    for i in range(1, 6):
        audit.append(f"user{i % 2}", {"question": f"q{i}", "answer": f"a{i}", "cited": [f"c{i}"]})
    return audit


def _raw(log: AuditLog) -> sqlite3.Connection:
    return sqlite3.connect(str(log.path), isolation_level=None)


def test_intact_chain_verifies(log: AuditLog) -> None:
    assert log.verify() is None
    records = list(log.records())
    assert [r.seq for r in records] == [1, 2, 3, 4, 5]
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(records))


@pytest.mark.parametrize("column", ["at", "user", "body"])
def test_editing_any_field_names_the_record(log: AuditLog, column: str) -> None:
    value = json.dumps({"question": "q3", "answer": "edited"}) if column == "body" else "x"
    _raw(log).execute(f"UPDATE audit SET {column} = ? WHERE seq = 3", (value,))
    assert log.verify() == 3


def test_rehashing_an_edited_record_is_still_caught_by_the_next_one(log: AuditLog) -> None:
    from indexes.audit import record_hash

    db = _raw(log)
    seq, at, user, _, prev = db.execute(
        "SELECT seq, at, user, body, prev_hash FROM audit WHERE seq = 2").fetchone()
    body = json.dumps({"question": "forged"})
    db.execute("UPDATE audit SET body = ?, hash = ? WHERE seq = 2",
               (body, record_hash(seq, at, user, body, prev)))
    assert log.verify() == 3


def test_deleting_a_record_is_detected(log: AuditLog) -> None:
    _raw(log).execute("DELETE FROM audit WHERE seq = 2")
    assert log.verify() == 3


def test_deleting_the_first_or_last_record_is_detected(tmp_path: Path, log: AuditLog) -> None:
    _raw(log).execute("DELETE FROM audit WHERE seq = 5")
    assert log.verify() is not None
    other = AuditLog(tmp_path / "other.sqlite3")
    other.append("u", {"q": 1})
    other.append("u", {"q": 2})
    _raw(other).execute("DELETE FROM audit WHERE seq = 1")
    assert other.verify() == 2


def test_reordering_records_is_detected(log: AuditLog) -> None:
    db = _raw(log)
    db.execute("UPDATE audit SET seq = 100 WHERE seq = 2")
    db.execute("UPDATE audit SET seq = 2 WHERE seq = 4")
    db.execute("UPDATE audit SET seq = 4 WHERE seq = 100")
    assert log.verify() == 2


def test_pruning_keeps_the_rest_verifiable(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "a.sqlite3")
    now = datetime(2026, 1, 31, tzinfo=UTC)
    for day in range(1, 31):
        audit.append("u", {"day": day}, at=datetime(2026, 1, day, tzinfo=UTC))
    assert audit.prune(keep_days=10, now=now) == 20
    assert next(r.body["day"] for r in audit.records()) == 21
    assert audit.verify() is None
    audit.append("u", {"day": 31}, at=now)
    assert audit.verify() is None


def test_search_filters(log: AuditLog) -> None:
    assert [r.body["question"] for r in log.search(user="user1")] == ["q5", "q3", "q1"]
    assert [r.body["question"] for r in log.search(text="A4")] == ["q4"]
    assert [r.body["question"] for r in log.search(document="c2")] == ["q2"]
    future = datetime.now(UTC) + timedelta(days=1)
    assert log.search(since=future) == []
