"""The keyed, anchored audit trail: edits, deletions, reordering and truncation are detected,
even by someone who can write the SQLite file and recompute hashes; pruning is not."""

from __future__ import annotations

import itertools
import json
import socket
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from indexes.audit import AuditLog, AuditSeal, record_hash
from indexes.audit_key import create_key
from indexes.errors import AuditKeyError


@pytest.fixture
def seal(tmp_path: Path) -> AuditSeal:
    return AuditSeal(tmp_path / "keys" / "audit.key", tmp_path / "keys" / "anchors.log")


@pytest.fixture
def log(tmp_path: Path, seal: AuditSeal) -> AuditLog:
    audit = AuditLog(tmp_path / "audit.sqlite3", seal)
    for i in range(1, 6):
        audit.append(f"user{i % 2}", {"question": f"q{i}", "answer": f"a{i}", "cited": [f"c{i}"]})
    return audit


def _raw(log: AuditLog) -> sqlite3.Connection:
    return sqlite3.connect(str(log.path), isolation_level=None)


def _messages(log: AuditLog) -> list[str]:
    return [b.message for b in log.check().breaches]


def test_intact_chain_verifies_and_is_keyed(log: AuditLog) -> None:
    found = log.check()
    assert found.intact and found.keyed_from == 1 and found.anchors == 5
    records = list(log.records())
    assert [r.seq for r in records] == [1, 2, 3, 4, 5]
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(records))
    # Not the plain SHA-256 anyone could recompute: an HMAC under the key.
    db = _raw(log)
    seq, at, user, body, prev, digest = db.execute("SELECT * FROM audit WHERE seq = 1").fetchone()
    assert record_hash(seq, at, user, body, prev) != digest


@pytest.mark.parametrize("column", ["at", "user", "body"])
def test_editing_any_field_names_the_record(log: AuditLog, column: str) -> None:
    value = json.dumps({"question": "q3", "answer": "edited"}) if column == "body" else "x"
    _raw(log).execute(f"UPDATE audit SET {column} = ? WHERE seq = 3", (value,))
    assert log.verify() == 3
    assert _messages(log) == ["audit trail broken at record 3: edited, deleted or reordered"]


def test_recomputing_the_chain_after_an_edit_is_caught(log: AuditLog) -> None:
    db = _raw(log)
    prev = db.execute("SELECT hash FROM audit WHERE seq = 1").fetchone()[0]
    for seq, at, user, body in db.execute(
            "SELECT seq, at, user, body FROM audit WHERE seq >= 2 ORDER BY seq").fetchall():
        body = json.dumps({"question": "forged"}) if seq == 2 else body
        digest = record_hash(seq, at, user, body, prev)
        db.execute("UPDATE audit SET body = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                   (body, prev, digest, seq))
        prev = digest
    db.execute("UPDATE audit_meta SET value = ? WHERE key = 'head'", (f"5:{prev}",))
    assert log.verify() == 2


def test_deleting_a_record_names_the_gap(log: AuditLog) -> None:
    _raw(log).execute("DELETE FROM audit WHERE seq = 2")
    assert log.verify() == 2
    assert "audit trail broken: record 2 missing (deleted)" in _messages(log)


def test_deleting_the_first_record_is_detected(log: AuditLog) -> None:
    _raw(log).execute("DELETE FROM audit WHERE seq = 1")
    assert _messages(log) == [
        "audit trail broken: record 1 missing (deleted without a prune record)"]


def test_reordering_records_is_detected(log: AuditLog) -> None:
    db = _raw(log)
    db.execute("UPDATE audit SET seq = 100 WHERE seq = 2")
    db.execute("UPDATE audit SET seq = 2 WHERE seq = 4")
    db.execute("UPDATE audit SET seq = 4 WHERE seq = 100")
    assert log.verify() == 2


def test_a_trail_cut_off_under_a_moved_head_is_caught_by_its_anchors(log: AuditLog) -> None:
    db = _raw(log)
    head = db.execute("SELECT seq, hash FROM audit WHERE seq = 3").fetchone()
    db.execute("DELETE FROM audit WHERE seq > 3")
    db.execute("UPDATE audit_meta SET value = ? WHERE key = 'head'", (f"{head[0]}:{head[1]}",))
    [message] = _messages(log)
    assert message.startswith("audit trail broken: records 4..5 missing (cut off the end: "
                              "record 5 was anchored in ")


def test_anchors_every_nth_record_and_at_close(tmp_path: Path, seal: AuditSeal) -> None:
    sparse = AuditSeal(seal.key_file, seal.anchor_file, anchor_every=3)
    audit = AuditLog(tmp_path / "a.sqlite3", sparse)
    for i in range(7):
        audit.append("u", {"i": i})
    lines = [json.loads(line) for line in seal.anchor_file.read_text().splitlines()]
    assert [a["seq"] for a in lines] == [1, 3, 6]  # the first keyed record, then every 3rd
    audit.close()
    lines = [json.loads(line) for line in seal.anchor_file.read_text().splitlines()]
    assert [a["seq"] for a in lines] == [1, 3, 6, 7]  # the head, at close
    assert "sig" in lines[0] and lines[0]["keyed_from"] == 1


def test_a_forged_anchor_line_is_named(log: AuditLog, seal: AuditSeal) -> None:
    line = json.loads(seal.anchor_file.read_text().splitlines()[-1])
    line["seq"] = 99
    with seal.anchor_file.open("a") as handle:
        handle.write(json.dumps(line) + "\n")
    assert _messages(log) == [f"audit trail broken: line 6 of {seal.anchor_file} is not an "
                              f"anchor signed with this key (edited or forged)"]


def test_anchors_also_go_to_syslog(tmp_path: Path, seal: AuditSeal) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.bind(("127.0.0.1", 0))
        receiver.settimeout(5)
        port = receiver.getsockname()[1]
        audit = AuditLog(tmp_path / "a.sqlite3",
                         AuditSeal(seal.key_file, seal.anchor_file, syslog=f"127.0.0.1:{port}"))
        record = audit.append("u", {"q": 1})
        datagram = receiver.recv(65536).decode()
    audit.close()
    # <facility authpriv (10) * 8 + info (6)>, the tag, then the anchor line itself.
    assert datagram.startswith("<86>coffre-audit: {")
    assert json.loads(datagram.split(": ", 1)[1].rstrip("\x00"))["mac"] == record.hash


def test_pruning_deletes_only_old_records_and_is_recorded(tmp_path: Path, seal: AuditSeal) -> None:
    audit = AuditLog(tmp_path / "a.sqlite3", seal)
    now = datetime(2026, 1, 31, tzinfo=UTC)
    for day in range(1, 31):
        audit.append("u", {"day": day}, at=datetime(2026, 1, day, tzinfo=UTC))
    audit.append("u", {"day": "late"}, at=datetime(2026, 1, 2, tzinfo=UTC))  # clock skew
    digests = {r.seq: r.hash for r in audit.records()}
    assert audit.prune(keep_days=10, now=now) == 20
    kept = list(audit.records())
    # Day 21 on stays, and so does what came after it, however old its time says it is.
    assert [r.body["day"] for r in kept[:-1]] == [*range(21, 31), "late"]
    assert kept[-1].body == {"kind": "prune", "user": "coffre", "through": 20, "count": 20,
                             "last_hash": digests[20],
                             "cutoff": "2026-01-21T00:00:00.000000+00:00", "keep_days": 10}
    found = audit.check()
    assert found.intact and found.pruned_through == 20
    audit.append("u", {"day": 31}, at=now)
    assert audit.verify() is None


def test_deleting_records_beyond_a_prune_is_detected(tmp_path: Path, seal: AuditSeal) -> None:
    audit = AuditLog(tmp_path / "a.sqlite3", seal)
    for day in range(1, 11):
        audit.append("u", {"day": day}, at=datetime(2026, 1, day, tzinfo=UTC))
    audit.prune(keep_days=5, now=datetime(2026, 1, 10, tzinfo=UTC))
    db = _raw(audit)
    db.execute("DELETE FROM audit WHERE seq IN (5, 6)")
    db.execute("UPDATE audit_meta SET value = (SELECT hash FROM audit WHERE seq = 6) "
               "WHERE key = 'anchor'")
    assert _messages(audit)[0] == ("audit trail broken: records 5..6 missing (deleted without "
                                   "a prune record)")


def _legacy_trail(path: Path, count: int) -> None:
    """A trail as written before it had a key: plain SHA-256 chain, head in audit_meta."""
    db = sqlite3.connect(str(path), isolation_level=None)
    db.executescript(
        "CREATE TABLE audit (seq INTEGER PRIMARY KEY, at TEXT NOT NULL, user TEXT NOT NULL,"
        " body TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);"
        "CREATE TABLE audit_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);")
    prev = "0" * 64
    for seq in range(1, count + 1):
        at = (datetime(2025, 6, 1, tzinfo=UTC) + timedelta(days=seq)).isoformat(
            timespec="microseconds")
        body = json.dumps({"question": f"old {seq}"})
        digest = record_hash(seq, at, "old", body, prev)
        db.execute("INSERT INTO audit VALUES (?, ?, 'old', ?, ?, ?)",
                   (seq, at, body, prev, digest))
        prev = digest
    db.execute("INSERT INTO audit_meta VALUES ('head', ?)", (f"{count}:{prev}",))
    db.close()


def test_a_legacy_trail_is_keyed_after_its_records(tmp_path: Path, seal: AuditSeal) -> None:
    path = tmp_path / "a.sqlite3"
    _legacy_trail(path, 3)
    before = AuditLog(path, seal, create_key=False)  # verifying creates no key
    found = before.check()
    assert found.intact and found.keyed_from is None and found.legacy == (1, 3)
    assert not seal.key_file.exists()
    audit = AuditLog(path, seal)
    audit.append("new", {"question": "keyed"})
    opening = list(audit.records())[3]
    assert opening.seq == 4 and opening.body["kind"] == "key_start"
    assert (opening.body["legacy_first"], opening.body["legacy_last"]) == (1, 3)
    found = audit.check()
    assert found.intact and found.keyed_from == 4 and found.legacy == (1, 3)
    # From now on, the legacy records cannot be rewritten unseen either.
    db = _raw(audit)
    at, prev = db.execute("SELECT at, prev_hash FROM audit WHERE seq = 3").fetchone()
    body = json.dumps({"question": "forged"})
    db.execute("UPDATE audit SET body = ?, hash = ? WHERE seq = 3",
               (body, record_hash(3, at, "old", body, prev)))
    assert audit.verify() == 4


def test_the_key_file_is_made_private_and_never_replaced(tmp_path: Path, seal: AuditSeal) -> None:
    audit = AuditLog(tmp_path / "a.sqlite3", seal)
    audit.append("u", {"q": 1})
    assert seal.key_file.stat().st_mode & 0o777 == 0o600
    audit.close()
    seal.key_file.unlink()
    with pytest.raises(AuditKeyError, match="does not exist, but the audit trail was written "
                                            "with a key"):
        AuditLog(tmp_path / "a.sqlite3", seal)
    assert not seal.key_file.exists()  # no new key slipped in under the old trail
    create_key(seal.key_file)
    with pytest.raises(AuditKeyError, match=r"holds key id .*, but the audit trail was written "
                                             "with key id "):
        AuditLog(tmp_path / "a.sqlite3", seal)


def test_an_unreadable_or_malformed_key_is_refused(tmp_path: Path, seal: AuditSeal) -> None:
    seal.key_file.mkdir(parents=True)
    with pytest.raises(AuditKeyError, match=r"cannot read .*audit\.key"):
        AuditLog(tmp_path / "a.sqlite3", seal)
    seal.key_file.rmdir()
    seal.key_file.write_text("not a key\n")
    with pytest.raises(AuditKeyError, match="does not hold a Coffre audit key"):
        AuditLog(tmp_path / "a.sqlite3", seal)


def test_an_unsealed_log_reads_but_does_not_write(log: AuditLog) -> None:
    reader = AuditLog(log.path)
    assert len(list(reader.records())) == 5
    with pytest.raises(Exception, match="open without its key"):
        reader.append("u", {"q": 1})


def test_search_filters(log: AuditLog) -> None:
    assert [r.body["question"] for r in log.search(user="user1")] == ["q5", "q3", "q1"]
    assert [r.body["question"] for r in log.search(text="A4")] == ["q4"]
    assert [r.body["question"] for r in log.search(document="c2")] == ["q2"]
    future = datetime.now(UTC) + timedelta(days=1)
    assert log.search(since=future) == []
