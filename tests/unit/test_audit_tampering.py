"""`coffre audit verify` against an insider who can write the SQLite file: each way of
rewriting history is reported (exit 1, naming the first bad record or the missing range);
a legitimate prune is not; a missing or wrong key is said to be one (exit 2)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from api.errors import SettingsError
from api.security_wiring import audit_log
from api.settings import load_settings
from indexes.audit import record_hash
from indexes.audit_key import create_key
from tests.unit.cli_kit import fake_wiring, run

SEARCHES = 5


def _trail(tmp_path: Path) -> Path:
    """Five searches on the record through the CLI; the trail's database file."""
    wiring = fake_wiring(tmp_path)
    for i in range(SEARCHES):
        assert run(wiring, "search", f"query {i}").exit_code == 0
    return tmp_path / "data" / "audit.sqlite3"


def _sql(database: Path, *statements: str) -> sqlite3.Connection:
    db = sqlite3.connect(str(database), isolation_level=None)
    for statement in statements:
        db.execute(statement)
    return db


def _verify(tmp_path: Path) -> tuple[int, str, str]:
    result = run(fake_wiring(tmp_path), "audit", "verify")
    return result.exit_code, result.stdout, result.stderr


def test_an_untouched_trail_is_intact_keyed_and_anchored(tmp_path: Path) -> None:
    _trail(tmp_path)
    code, out, _ = _verify(tmp_path)
    assert code == 0
    assert f"audit trail intact ({SEARCHES} records)" in out
    assert f"from record 1; {SEARCHES} anchor(s) in {tmp_path / 'data-audit' / 'anchors.log'}" \
        in out
    # The key was made on first use beside the data folder, for the service user alone.
    assert (tmp_path / "data-audit" / "audit.key").stat().st_mode & 0o777 == 0o600


def test_recomputing_the_chain_after_editing_a_record(tmp_path: Path) -> None:
    db = _sql(_trail(tmp_path))
    prev = db.execute("SELECT hash FROM audit WHERE seq = 2").fetchone()[0]
    for seq, at, user, body in db.execute(
            "SELECT seq, at, user, body FROM audit WHERE seq >= 3 ORDER BY seq").fetchall():
        if seq == 3:
            body = json.dumps({**json.loads(body), "question": "something harmless"})
        digest = record_hash(seq, at, user, body, prev)
        db.execute("UPDATE audit SET body = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                   (body, prev, digest, seq))
        prev = digest
    db.execute("UPDATE audit_meta SET value = ? WHERE key = 'head'", (f"{SEARCHES}:{prev}",))
    code, _, err = _verify(tmp_path)
    assert code == 1
    assert err.splitlines()[0] == "audit trail broken at record 3: edited, deleted or reordered"


def test_dropping_the_last_records_and_moving_the_head(tmp_path: Path) -> None:
    database = _trail(tmp_path)
    _sql(database, "DELETE FROM audit WHERE seq > 3",
         "UPDATE audit_meta SET value = (SELECT seq || ':' || hash FROM audit WHERE seq = 3) "
         "WHERE key = 'head'")
    code, _, err = _verify(tmp_path)
    assert code == 1 and err.startswith("audit trail broken: records 4..5 missing (cut off the "
                                        "end: record 5 was anchored in ")


def test_deleting_the_head_row_with_the_last_record(tmp_path: Path) -> None:
    database = _trail(tmp_path)
    _sql(database, "DELETE FROM audit WHERE seq = 5", "DELETE FROM audit_meta WHERE key = 'head'")
    code, _, err = _verify(tmp_path)
    assert code == 1
    assert "audit trail broken: record 5 missing (cut off the end" in err
    assert "audit trail broken: its head is missing from audit_meta" in err


def test_wiping_everything(tmp_path: Path) -> None:
    _sql(_trail(tmp_path), "DELETE FROM audit", "DELETE FROM audit_meta")
    code, _, err = _verify(tmp_path)
    assert code == 1
    assert "audit trail broken: records 1..5 missing (cut off the end" in err


def test_deleting_early_records_and_setting_a_pruning_anchor(tmp_path: Path) -> None:
    _sql(_trail(tmp_path),
         "INSERT OR REPLACE INTO audit_meta(key, value) "
         "SELECT 'anchor', hash FROM audit WHERE seq = 2",
         "DELETE FROM audit WHERE seq <= 2")
    code, _, err = _verify(tmp_path)
    assert code == 1
    assert err.strip() == "audit trail broken: records 1..2 missing (deleted without a prune " \
                          "record)"


def test_a_legitimate_prune_verifies_and_says_what_it_pruned(tmp_path: Path) -> None:
    log = audit_log(load_settings(data_dir=tmp_path / "data"))
    for day in range(1, 6):
        log.append("alice", {"kind": "search", "day": day},
                   at=datetime(2026, 1, day, tzinfo=UTC))
    assert log.prune(keep_days=2, now=datetime(2026, 1, 5, tzinfo=UTC)) == 2
    log.close()
    code, out, _ = _verify(tmp_path)
    assert code == 0 and "audit trail intact (4 records)" in out
    assert "records up to 2 pruned by retention (COFFRE_AUDIT_RETENTION_DAYS)" in out


def test_verify_without_the_key_says_so(tmp_path: Path) -> None:
    _trail(tmp_path)
    key_file = tmp_path / "data-audit" / "audit.key"
    key_file.unlink()
    code, _, err = _verify(tmp_path)
    assert code == 2
    assert f"COFFRE_AUDIT_KEY_FILE: {key_file} does not exist, but the audit trail was " \
           f"written with a key" in err.replace("\n", "")
    assert not key_file.exists()  # verifying never makes one


def test_verify_with_another_key_says_so(tmp_path: Path) -> None:
    _trail(tmp_path)
    other = create_key(tmp_path / "elsewhere" / "audit.key")
    result = run(fake_wiring(tmp_path), "audit", "verify",
                 env={"COFFRE_AUDIT_KEY_FILE": str(other.path)})
    assert result.exit_code == 2
    message = result.stderr.replace("\n", "")
    assert f"holds key id {other.key_id}, but the audit trail was written with key id" in message


def test_a_key_inside_the_data_folder_is_refused(tmp_path: Path) -> None:
    result = run(fake_wiring(tmp_path), "audit", "verify",
                 env={"COFFRE_AUDIT_KEY_FILE": str(tmp_path / "data" / "audit.key")})
    assert result.exit_code == 2
    assert "COFFRE_AUDIT_KEY_FILE" in result.stderr and "inside COFFRE_DATA_DIR" in result.stderr


def test_a_syslog_address_that_is_neither_a_socket_nor_host_port_is_refused() -> None:
    with pytest.raises(SettingsError, match=r"COFFRE_AUDIT_SYSLOG: .*socket path"):
        load_settings(audit_syslog="syslog.bank.internal")
    assert load_settings(audit_syslog="syslog.bank.internal:514").audit_syslog
