"""Runs recorded ingestion jobs, one at a time, through the one ingester.

The server runs queued jobs in a background thread (`start`); `coffre ingest` runs its own
job in the foreground (`run`). Either way the job's progress goes on record file by file,
and a cancellation asked for (over HTTP or by `coffre jobs cancel`, from another process)
stops it between two files: what was committed stays, nothing is half applied.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ingest.job_store import Job, JobState, JobStore
from ingest.jobs import Ingester
from ingest.outcomes import FileOutcome, IngestProgress, JobCancelled
from ingest.sources import discover

_log = logging.getLogger(__name__)
_POLL_S = 2.0  # how often the idle runner looks for jobs queued by another process


@dataclass
class _Recorder:
    """Puts each finished file on the job's record and stops the job when asked."""

    store: JobStore
    job_id: str
    inner: IngestProgress | None

    def file_done(self, outcome: FileOutcome) -> None:
        """Record the file, pass it on, and stop here if the job was cancelled."""
        cancelled = self.store.add_file(self.job_id, outcome)
        if self.inner:
            self.inner.file_done(outcome)
        if cancelled:
            raise JobCancelled(self.job_id)

    def chunks_done(self, count: int) -> None:
        """Pass on: chunks are counted from the file outcomes."""
        if self.inner:
            self.inner.chunks_done(count)


class JobRunner:
    """Runs the jobs of one job store with one ingester over the configured sources."""

    def __init__(self, store: JobStore, ingester: Ingester, sources: Mapping[str, Path]) -> None:
        self.store = store
        self.ingester = ingester
        self.sources = dict(sources)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def paths(self, job: Job) -> list[Path]:
        """The folder of the job's source, or its uploaded files; KeyError for a source
        no longer configured."""
        if job.spec.source:
            return [self.sources[job.spec.source]]
        return [Path(p) for p in job.spec.paths]

    def run(self, job: Job, progress: IngestProgress | None = None) -> Job:
        """Run a claimed (running) job to its end; the job as it ended."""
        try:
            paths = self.paths(job)
        except KeyError:
            self.store.finish(job.job_id, JobState.FAILED, f"source {job.spec.source!r} is not "
                              f"in COFFRE_SOURCES any more; add it back or queue another job")
            return self._reread(job)
        files, missing = discover(paths)
        self.store.set_total(job.job_id, len(files) + len(missing))
        recorder = _Recorder(self.store, job.job_id, progress)
        try:
            self.ingester.run(paths, recorder, job.spec.groups, sync=job.spec.sync)
        except JobCancelled:
            self.store.finish(job.job_id, JobState.CANCELLED, "cancelled; what it had stored "
                              "stays, and running it again finishes the rest")
        except (OSError, sqlite3.Error) as exc:  # disk full, permissions: nothing half applied
            self.store.finish(job.job_id, JobState.FAILED, f"could not write the index ({exc}); "
                              f"free disk space or fix the data folder's permissions, then "
                              f"queue the job again: what was stored before is intact")
        else:
            self.store.finish(job.job_id, JobState.DONE)
        return self._reread(job)

    def _reread(self, job: Job) -> Job:
        ended = self.store.get(job.job_id)
        assert ended is not None  # jobs are never deleted
        return ended

    def start(self) -> None:
        """Queue again the jobs a killed process left running, then run queued jobs in a
        background thread until `stop`."""
        resumed = self.store.recover()
        if resumed:
            _log.warning("ingestion jobs resumed after an interruption: %s", ", ".join(resumed))
        self._thread = threading.Thread(target=self._loop, name="ingest-jobs", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """A job was queued: look now rather than at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        """Take no more jobs. A job still running goes on; if the process exits first, it is
        resumed at the next start."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            job = self.store.claim_next()
            if job is None:
                self._wake.wait(_POLL_S)
                self._wake.clear()
                continue
            try:
                self.run(job)
            except Exception:  # a bug in one job must not stop the others
                _log.exception("ingestion job %s failed", job.job_id)
                self.store.finish(job.job_id, JobState.FAILED,
                                  "stopped by an internal error; see the server log")
