"""Anchors: the audit trail's head, exported outside the database as it grows.

A keyed chain alone cannot show that records were cut off its end, or that the whole
database was swapped for an older copy: what remains still verifies. So the head (sequence
number and HMAC of a record) is appended, as one signed JSON line, to a file outside the
data folder (and, if configured, sent to syslog), every COFFRE_AUDIT_ANCHOR_EVERY records
and when the trail is closed. Verification then requires the database to still hold every
anchored record with the same HMAC. The file is only ever appended to: the operator can
make it append-only (`chattr +a`) or ship it off the machine (syslog, a SIEM).
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from indexes.audit_key import AuditKey
from indexes.errors import AuditError

_SIGNED = "coffre audit anchor"


@dataclass(frozen=True)
class Anchor:
    """One exported head: the record `seq` carried `mac`; the chain is keyed from record
    `keyed_from` on, with the key named `key_id`; `at` is when it was exported."""

    seq: int
    mac: str
    keyed_from: int
    key_id: str
    at: str

    def signed_line(self, key: AuditKey) -> str:
        """The line written to the anchor file: the fields and their signature."""
        fields = asdict(self)
        return json.dumps({**fields, "sig": key.mac(_payload(fields))}, sort_keys=True)


def _payload(fields: dict[str, object]) -> str:
    return _SIGNED + "\x1f" + json.dumps(fields, sort_keys=True)


@dataclass(frozen=True)
class AnchorReading:
    """What an anchor file says: its anchors signed with this key, the numbers of the
    lines that name this key but do not verify (edited or forged), and the key ids of lines
    signed with some other key."""

    anchors: tuple[Anchor, ...]
    forged: tuple[int, ...]
    foreign_key_ids: frozenset[str]

    @property
    def empty(self) -> bool:
        """No line at all: the trail was never anchored here."""
        return not (self.anchors or self.forged or self.foreign_key_ids)


def _parse(line: str, key: AuditKey) -> Anchor | str | None:
    """The anchor of a line signed with `key`; else the other key id it names, or None."""
    try:
        raw = json.loads(line)
        sig = raw.pop("sig")
        anchor = Anchor(int(raw["seq"]), str(raw["mac"]), int(raw["keyed_from"]),
                        str(raw["key_id"]), str(raw["at"]))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    if anchor.key_id != key.key_id:
        return anchor.key_id
    return anchor if sig == key.mac(_payload(asdict(anchor))) else None


def read_anchors(path: Path, key: AuditKey) -> AnchorReading:
    """Every line of the anchor file at `path` (none when it does not exist)."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        lines = []
    except OSError as exc:
        raise AuditError(f"COFFRE_AUDIT_ANCHOR_FILE: cannot read {path} ({exc.strerror}); "
                         f"make it readable by the account Coffre runs as") from exc
    anchors, forged, foreign = [], [], set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        parsed = _parse(line, key)
        if isinstance(parsed, Anchor):
            anchors.append(parsed)
        elif isinstance(parsed, str):
            foreign.add(parsed)
        else:
            forged.append(number)
    return AnchorReading(tuple(anchors), tuple(forged), frozenset(foreign))


def anchor_file_has_lines(path: Path) -> bool:
    """Whether the anchor file exists and is not empty (a trail was anchored there)."""
    try:
        return path.stat().st_size > 0
    except FileNotFoundError:
        return False


class AnchorLog:
    """Appends signed anchors to the anchor file, and to syslog when an address is set
    (a socket path such as /dev/log, or HOST:PORT over UDP)."""

    def __init__(self, path: Path, syslog: str = "") -> None:
        self.path = path
        self.syslog = syslog
        self._handler: logging.handlers.SysLogHandler | None = None

    def write(self, anchor: Anchor, key: AuditKey) -> None:
        """Append the anchor's line (one write: lines of processes sharing the file never
        interleave); AuditError naming the file when it cannot be written."""
        line = anchor.signed_line(key)
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, (line + "\n").encode("utf-8"))
            finally:
                os.close(fd)
        except OSError as exc:
            raise AuditError(f"COFFRE_AUDIT_ANCHOR_FILE: cannot append to {self.path} "
                             f"({exc.strerror}); make it writable by the account Coffre "
                             f"runs as") from exc
        if self.syslog:
            self._send(line)

    def _send(self, line: str) -> None:
        # Best effort by design: the file is the anchor verification reads; syslog is the
        # copy kept off this machine, and a syslog daemon that is down must not stop answers.
        if self._handler is None:
            address: str | tuple[str, int] = self.syslog
            if not self.syslog.startswith("/"):
                host, _, port = self.syslog.rpartition(":")
                address = (host or "localhost", int(port or 514))
            self._handler = logging.handlers.SysLogHandler(
                address, facility=logging.handlers.SysLogHandler.LOG_AUTHPRIV)
            self._handler.ident = "coffre-audit: "
        record = logging.LogRecord("coffre.audit", logging.INFO, __file__, 0, line, None, None)
        self._handler.emit(record)

    def close(self) -> None:
        """Close the syslog connection, if one was opened."""
        if self._handler is not None:
            self._handler.close()
            self._handler = None
