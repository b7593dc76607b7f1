"""Ingestion jobs on record: what each was asked to do, how far it got, and how it ended.

Jobs live in their own SQLite file beside the store, so a job queued over HTTP survives a
restart, and `coffre jobs` sees the server's jobs and the server sees the CLI's. A job's
state moves one way: queued -> running -> done | failed | cancelled. A running job whose
process is gone (killed, the machine restarted) goes back to queued at the next start:
rerunning a job is safe, for unchanged files are skipped and each document is committed
whole, so the rerun finishes it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from indexes.private_files import private_file
from indexes.records import content_id
from indexes.sqlite_open import connect, prepare, write_transaction
from ingest.outcomes import FileOutcome, FileStatus

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    source TEXT NOT NULL,
    paths TEXT NOT NULL,
    groups TEXT NOT NULL,
    sync INTEGER NOT NULL,
    files_total INTEGER NOT NULL DEFAULT 0,
    started_at TEXT,
    finished_at TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    runner_pid INTEGER,
    note TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS job_files (
    job_id TEXT NOT NULL REFERENCES jobs(job_id),
    seq INTEGER NOT NULL,
    path TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    documents INTEGER NOT NULL,
    chunks INTEGER NOT NULL,
    groups TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
);
"""
_COLUMNS = ("job_id, state, created_by, created_at, source, paths, groups, sync, files_total, "
            "started_at, finished_at, cancel_requested, note, "
            "(SELECT count(*) FROM job_files f WHERE f.job_id = jobs.job_id), "
            "(SELECT coalesce(sum(chunks), 0) FROM job_files f WHERE f.job_id = jobs.job_id)")


class JobState(StrEnum):
    """Where a job is in its life."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def ended(self) -> bool:
        """True once the job will do nothing more."""
        return self in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


@dataclass(frozen=True)
class JobSpec:
    """What a job is asked to do: a configured source folder (kept in sync) or files."""

    created_by: str
    source: str  # the source's name in COFFRE_SOURCES, or "" for uploaded files
    paths: tuple[str, ...]  # uploaded files; a source's folder is looked up when it runs
    groups: tuple[str, ...]  # for documents without an access file
    sync: bool


@dataclass(frozen=True)
class Job:
    """A job as recorded, with the outcome of every file it has finished."""

    job_id: str
    state: JobState
    spec: JobSpec
    created_at: str
    files_total: int
    started_at: str | None
    finished_at: str | None
    cancel_requested: bool
    note: str
    files_done: int
    chunks: int  # written so far
    files: tuple[FileOutcome, ...] = ()  # read by `JobStore.get`, not by `jobs`

    def count(self, status: FileStatus) -> int:
        """Files finished with this status."""
        return sum(1 for f in self.files if f.status == status)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class JobStore:
    """The jobs of one data directory."""

    def __init__(self, path: Path) -> None:
        private_file(path)
        self._lock = threading.RLock()
        self._db = connect(path)
        prepare(self._db, SCHEMA)

    def close(self) -> None:
        """Release the database."""
        self._db.close()

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return write_transaction(self._db, self._lock)

    def create(self, spec: JobSpec) -> Job:
        """Queue a job; its id derives from what it asks and when."""
        created = _now()
        job_id = content_id(spec.created_by, spec.source, *spec.paths, created, length=16)
        with self._transaction() as db:
            db.execute(
                "INSERT INTO jobs(job_id, state, created_by, created_at, source, paths, groups, "
                "sync) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (job_id, JobState.QUEUED.value, spec.created_by, created, spec.source,
                 json.dumps(list(spec.paths)), json.dumps(list(spec.groups)), int(spec.sync)),
            )
        job = self.get(job_id)
        assert job is not None  # just written
        return job

    def get(self, job_id: str) -> Job | None:
        """The job with its file outcomes, or None."""
        with self._lock:
            row = self._db.execute(f"SELECT {_COLUMNS} FROM jobs WHERE job_id = ?",
                                   (job_id,)).fetchone()
            if row is None:
                return None
            files = self._db.execute(
                "SELECT path, status, reason, documents, chunks, groups FROM job_files "
                "WHERE job_id = ? ORDER BY seq", (job_id,)).fetchall()
        outcomes = tuple(FileOutcome(str(f[0]), FileStatus(str(f[1])), str(f[2]),
                                     documents=int(f[3]), chunks=int(f[4]),
                                     groups=tuple(json.loads(str(f[5])))) for f in files)
        return _job(row, outcomes)

    def jobs(self, created_by: str | None = None, limit: int = 100) -> list[Job]:
        """The newest jobs first (of one creator, when given), without their file lists."""
        where, params = ("WHERE created_by = ?", [created_by]) if created_by else ("", [])
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM jobs {where} ORDER BY created_at DESC LIMIT ?",
                [*params, limit]).fetchall()
        return [_job(row, ()) for row in rows]

    def claim_next(self) -> Job | None:
        """The oldest queued job, now running in this process; None when none is queued."""
        with self._transaction() as db:
            row = db.execute("SELECT job_id FROM jobs WHERE state = ? ORDER BY created_at "
                             "LIMIT 1", (JobState.QUEUED.value,)).fetchone()
            if row is None:
                return None
            self._start(db, str(row[0]))
        return self.get(str(row[0]))

    def claim(self, job_id: str) -> Job:
        """This queued job, now running in this process (the CLI runs its own at once)."""
        with self._transaction() as db:
            self._start(db, job_id)
        job = self.get(job_id)
        assert job is not None
        return job

    def _start(self, db: sqlite3.Connection, job_id: str) -> None:
        # A resumed job starts its file list again: the rerun reports every file anew.
        db.execute("DELETE FROM job_files WHERE job_id = ?", (job_id,))
        db.execute("UPDATE jobs SET state = ?, started_at = ?, runner_pid = ? WHERE job_id = ?",
                   (JobState.RUNNING.value, _now(), os.getpid(), job_id))

    def set_total(self, job_id: str, files: int) -> None:
        """How many files the running job found."""
        with self._transaction() as db:
            db.execute("UPDATE jobs SET files_total = ? WHERE job_id = ?", (files, job_id))

    def add_file(self, job_id: str, outcome: FileOutcome) -> bool:
        """Record one finished file; True when the job has been asked to stop."""
        with self._transaction() as db:
            seq = db.execute("SELECT count(*) FROM job_files WHERE job_id = ?",
                             (job_id,)).fetchone()[0]
            db.execute("INSERT INTO job_files(job_id, seq, path, status, reason, documents, "
                       "chunks, groups) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (job_id, seq, outcome.path, outcome.status.value, outcome.reason,
                        outcome.documents, outcome.chunks, json.dumps(list(outcome.groups))))
            row = db.execute("SELECT cancel_requested FROM jobs WHERE job_id = ?",
                             (job_id,)).fetchone()
        return bool(row[0])

    def finish(self, job_id: str, state: JobState, note: str = "") -> None:
        """The job has ended in `state`; `note` says why (else an earlier note stays: a
        resumed job says it was)."""
        with self._transaction() as db:
            db.execute("UPDATE jobs SET state = ?, finished_at = ?, note = coalesce(nullif(?, ''), "
                       "note), runner_pid = NULL WHERE job_id = ?",
                       (state.value, _now(), note, job_id))

    def cancel(self, job_id: str) -> Job | None:
        """Stop a job: a queued one is cancelled at once, a running one at its next file."""
        with self._transaction() as db:
            db.execute("UPDATE jobs SET state = ?, finished_at = ? WHERE job_id = ? AND state = ?",
                       (JobState.CANCELLED.value, _now(), job_id, JobState.QUEUED.value))
            db.execute("UPDATE jobs SET cancel_requested = 1 WHERE job_id = ? AND state = ?",
                       (job_id, JobState.RUNNING.value))
        return self.get(job_id)

    def recover(self) -> list[str]:
        """Queue again the running jobs whose process is gone; their ids."""
        with self._transaction() as db:
            rows = db.execute("SELECT job_id, runner_pid FROM jobs WHERE state = ?",
                              (JobState.RUNNING.value,)).fetchall()
            lost = [str(r[0]) for r in rows if not _alive(r[1])]
            db.executemany(
                "UPDATE jobs SET state = ?, runner_pid = NULL, note = ? WHERE job_id = ?",
                [(JobState.QUEUED.value, "interrupted: resumed", job_id) for job_id in lost])
        return lost


def _alive(pid: object) -> bool:
    """True when `pid` is a live process other than this one (this one's jobs were lost
    with its previous run, when it reuses an old id)."""
    if not isinstance(pid, int) or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _job(row: Sequence[object], files: tuple[FileOutcome, ...]) -> Job:
    spec = JobSpec(created_by=str(row[2]), source=str(row[4]),
                   paths=tuple(json.loads(str(row[5]))), groups=tuple(json.loads(str(row[6]))),
                   sync=bool(row[7]))
    return Job(job_id=str(row[0]), state=JobState(str(row[1])), spec=spec,
               created_at=str(row[3]), files_total=int(str(row[8])),
               started_at=None if row[9] is None else str(row[9]),
               finished_at=None if row[10] is None else str(row[10]),
               cancel_requested=bool(row[11]), note=str(row[12]),
               files_done=int(str(row[13])), chunks=int(str(row[14])), files=files)
