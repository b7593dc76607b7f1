"""Verifying the audit trail: the keyed chain, its start, its head, and its anchors.

What passes: a chain whose every keyed record carries the HMAC of its content and its
predecessor; that starts at record 1, or right after what a keyed prune record says it
deleted, or (a trail keyed after it was first written) where its key_start record says its
legacy records started; whose head is the last record; and that still holds every anchored
record with the anchored HMAC. Anything else is a breach naming the first record concerned.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from indexes.audit_anchor import Anchor, AnchorReading, anchor_file_has_lines
from indexes.audit_chain import GENESIS, StoredRow, SystemKind, record_hash, record_mac
from indexes.audit_key import AuditKey
from indexes.errors import AuditKeyError


@dataclass(frozen=True)
class Breach:
    """One way the trail fails: the first record concerned (0: the anchor file itself) and
    a message naming it or the missing range."""

    first: int
    message: str


@dataclass(frozen=True)
class Verification:
    """What verification found."""

    records: int
    keyed_from: int | None  # the first keyed record; None: the trail was never keyed
    legacy: tuple[int, int] | None  # legacy (unkeyed) records still in the trail
    pruned_through: int  # records up to this one were pruned legitimately (0: none)
    anchors: int  # anchors checked against the database
    breaches: tuple[Breach, ...]

    @property
    def intact(self) -> bool:
        """No breach at all."""
        return not self.breaches

    @property
    def first_bad(self) -> int | None:
        """The first record concerned by a breach, or None when intact."""
        return min((b.first for b in self.breaches), default=None)


def _number(text: str | None) -> int | None:
    """A record number stored as text; None when absent or not a number (edited)."""
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _missing(first: int, last: int, why: str) -> Breach:
    span = f"record {first}" if first == last else f"records {first}..{last}"
    return Breach(first, f"audit trail broken: {span} missing ({why})")


def check_key(meta: Mapping[str, str], reading: AnchorReading | None, key: AuditKey | None,
              key_file: Path, anchor_file: Path) -> None:
    """AuditKeyError when the trail was written with a key and `key` (None: its file is
    absent) is not that key; `reading` is the anchor file read with `key`, if it was."""
    if key is None:
        written_with = meta.get("key_id")
        if written_with is not None or anchor_file_has_lines(anchor_file):
            raise AuditKeyError(
                f"COFFRE_AUDIT_KEY_FILE: {key_file} does not exist, but the audit trail was "
                f"written with a key (key id {written_with or 'in ' + str(anchor_file)}): "
                f"restore that key file from its backup")
        return
    if reading is not None and reading.anchors:
        return  # lines signed with this key: it is the trail's key
    foreign = sorted(reading.foreign_key_ids) if reading is not None else []
    theirs = next(iter(foreign), None) or meta.get("key_id")
    if theirs is not None and theirs != key.key_id:
        raise AuditKeyError(
            f"COFFRE_AUDIT_KEY_FILE: {key_file} holds key id {key.key_id}, but the audit "
            f"trail was written with key id {theirs}: point COFFRE_AUDIT_KEY_FILE at the key "
            f"it was written with")


class _Checker:
    """One verification run (kept apart so each step stays short)."""

    def __init__(self, rows: Sequence[StoredRow], meta: Mapping[str, str],
                 reading: AnchorReading, key: AuditKey | None, anchor_file: Path) -> None:
        self.rows, self.meta, self.reading, self.key = rows, meta, reading, key
        self.anchor_file = anchor_file
        self.breaches: list[Breach] = []
        self.by_seq = {r.seq: r for r in rows}
        self.keyed_from = self._keyed_from()
        self.prune = self._latest_prune()

    def _keyed_from(self) -> int | None:
        for number in self.reading.forged:
            self.breaches.append(Breach(0, f"audit trail broken: line {number} of "
                                           f"{self.anchor_file} is not an anchor signed with "
                                           f"this key (edited or forged)"))
        if self.reading.foreign_key_ids and self.reading.anchors:
            self.breaches.append(Breach(0, f"audit trail broken: {self.anchor_file} holds "
                                           f"lines signed with another key (forged)"))
        stored = self.meta.get("keyed_from")
        starts = {a.keyed_from for a in self.reading.anchors}
        if not starts:
            if stored:
                self.breaches.append(Breach(0, f"audit trail broken: {self.anchor_file} holds "
                                               f"no anchor, but the trail is keyed from record "
                                               f"{stored}: restore the anchor file"))
            return _number(stored)
        first = min(starts)
        if len(starts) > 1 or stored != str(first):
            self.breaches.append(Breach(first, f"audit trail broken: the keyed chain starts "
                                               f"at record {first} by its anchors, not "
                                               f"{stored} as audit_meta says (edited)"))
        return first

    def _keyed(self, seq: int) -> bool:
        return self.keyed_from is not None and seq >= self.keyed_from

    def _latest_prune(self) -> StoredRow | None:
        """The last prune record that verifies: only one written with the key is believed."""
        for row in reversed(self.rows):
            if self._keyed(row.seq) and row.kind() == SystemKind.PRUNE \
                    and self._digest(row) == row.hash:
                return row
        return None

    def start(self) -> str:
        """The predecessor digest the first record must carry (a breach if it starts late)."""
        first = self.rows[0]
        if self.prune is not None:
            through, link = int(self.prune.body()["through"]), str(self.prune.body()["last_hash"])
            if through != first.seq - 1:
                self.breaches.append(_missing(through + 1, first.seq - 1,
                                              "deleted without a prune record"))
                return first.prev_hash
            return link
        if first.seq == 1:
            return GENESIS
        legacy_anchor = self.meta.get("anchor")
        if self.keyed_from is None and legacy_anchor:
            return legacy_anchor  # pruned before the trail had a key: as it was then
        if self.keyed_from is None or self.keyed_from == 1:
            self.breaches.append(_missing(1, first.seq - 1, "deleted without a prune record"))
            return first.prev_hash
        return self._legacy_start(first)

    def _legacy_start(self, first: StoredRow) -> str:
        """A trail keyed after it was written: its key_start record says where it began."""
        assert self.keyed_from is not None
        opening = self.by_seq.get(self.keyed_from)
        if opening is None or opening.kind() != SystemKind.KEY_START \
                or self._digest(opening) != opening.hash:
            self.breaches.append(Breach(self.keyed_from, f"audit trail broken at record "
                                                         f"{self.keyed_from}: it should open "
                                                         f"the keyed chain (key_start)"))
            return first.prev_hash
        body = opening.body()
        began = body["legacy_first"] if body["legacy_first"] is not None else self.keyed_from
        link = body["legacy_anchor"] if body["legacy_first"] is not None else body["legacy_head"]
        if first.seq > int(began):
            self.breaches.append(_missing(int(began), first.seq - 1,
                                          "deleted without a prune record"))
            return first.prev_hash
        if first.seq < int(began):
            self.breaches.append(Breach(first.seq, f"audit trail broken at record "
                                                   f"{first.seq}: not in the trail when it "
                                                   f"was keyed (inserted)"))
            return first.prev_hash
        return str(link)

    def walk(self, expected_prev: str) -> None:
        """Every record in order: no gap, its predecessor's digest, its own digest."""
        expected_seq, failing = self.rows[0].seq, False
        for row in self.rows:
            if row.seq != expected_seq:
                self.breaches.append(_missing(expected_seq, row.seq - 1, "deleted"))
                expected_prev = row.prev_hash  # report the gap once, not every link after it
            if row.prev_hash != expected_prev or self._digest(row) != row.hash:
                if not failing:
                    self.breaches.append(Breach(row.seq, f"audit trail broken at record "
                                                         f"{row.seq}: edited, deleted or "
                                                         f"reordered"))
                failing = True
            else:
                failing = False
            expected_prev, expected_seq = row.hash, row.seq + 1

    def _digest(self, row: StoredRow) -> str:
        if self._keyed(row.seq):
            assert self.key is not None  # check_key: a keyed trail is verified with its key
            return record_mac(self.key, row.seq, row.at, row.user, row.body_json,
                              row.prev_hash)
        return record_hash(row.seq, row.at, row.user, row.body_json, row.prev_hash)

    def head(self) -> None:
        """The head in audit_meta must name the last record."""
        head, last = self.meta.get("head"), self.rows[-1] if self.rows else None
        if head is None:
            if last is not None:
                self.breaches.append(Breach(last.seq + 1, f"audit trail broken: its head is "
                                                          f"missing from audit_meta (records "
                                                          f"after {last.seq} may have been "
                                                          f"cut off)"))
            return
        seq_text, _, digest = head.partition(":")
        head_seq, last_seq = _number(seq_text) or 0, last.seq if last else 0
        if head_seq > last_seq:
            self.breaches.append(_missing(last_seq + 1, head_seq,
                                          f"cut off the end: the head names record {head_seq}"))
        elif last is None or head_seq != last.seq or digest != last.hash:
            self.breaches.append(Breach(head_seq, f"audit trail broken at record {head_seq}: "
                                                  f"the head does not match it (edited)"))

    def anchors(self) -> int:
        """Every anchor past the pruned records must find its record, with its HMAC."""
        pruned = self.pruned_through
        last = self.rows[-1].seq if self.rows else 0
        beyond: list[Anchor] = []
        rewritten: list[Anchor] = []
        checked = [a for a in self.reading.anchors if a.seq > pruned]
        for anchor in checked:
            row = self.by_seq.get(anchor.seq)
            if row is None and anchor.seq > last:
                beyond.append(anchor)
            elif row is not None and row.hash != anchor.mac:
                rewritten.append(anchor)
        if beyond:
            top = max(beyond, key=lambda a: a.seq)
            self.breaches.append(_missing(last + 1, top.seq, f"cut off the end: record "
                                                             f"{top.seq} was anchored in "
                                                             f"{self.anchor_file} at {top.at}"))
        if rewritten:
            worst = min(rewritten, key=lambda a: a.seq)
            self.breaches.append(Breach(worst.seq, f"audit trail broken at record {worst.seq}: "
                                                   f"not the record anchored at {worst.at} in "
                                                   f"{self.anchor_file} (rewritten; "
                                                   f"{len(rewritten)} anchored records differ)"))
        return len(checked)

    @property
    def pruned_through(self) -> int:
        """The last record a keyed prune record says was deleted (0: none)."""
        return int(self.prune.body()["through"]) if self.prune is not None else 0

    def legacy(self) -> tuple[int, int] | None:
        """The legacy records still in the trail, first and last."""
        old = [r.seq for r in self.rows if not self._keyed(r.seq)]
        return (old[0], old[-1]) if old else None


def verify_rows(rows: Sequence[StoredRow], meta: Mapping[str, str], reading: AnchorReading,
                key: AuditKey | None, anchor_file: Path) -> Verification:
    """Verify the trail's rows (in sequence order), its metadata and its anchors."""
    checker = _Checker(rows, meta, reading, key, anchor_file)
    if rows:
        checker.walk(checker.start())
    checker.head()
    anchors = checker.anchors()
    ordered = tuple(sorted(checker.breaches, key=lambda b: b.first))
    return Verification(len(rows), checker.keyed_from, checker.legacy(),
                        checker.pruned_through, anchors, ordered)
