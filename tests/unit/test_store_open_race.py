"""Several processes opening one new data directory at the same moment.

Two ingestion jobs started together (or a job and the server) used to fail at random with
"database is locked": switching a new file to WAL does not wait for the busy timeout.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing.synchronize import Barrier
from pathlib import Path

from indexes.audit import AuditLog
from indexes.store import Store

OPENERS = 4
ROUNDS = 30


def _open_together(folder: str, barrier: Barrier, queue: multiprocessing.Queue) -> None:
    failures = []
    for round_number in range(ROUNDS):
        # Half the rounds on a new directory, half on the shared one that the other
        # processes are closing at that moment (their close checkpoints the WAL file).
        base = Path(folder) / (str(round_number) if round_number % 2 else "shared")
        barrier.wait(timeout=60)
        try:
            Store(base / "store.sqlite3").close()
            AuditLog(base / "audit.sqlite3").close()
        except Exception as exc:  # reported to the parent, which fails the test
            failures.append(f"round {round_number}: {exc}")
    queue.put(failures)


def test_processes_opening_one_store_together_all_succeed(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(OPENERS)
    queue = context.Queue()
    workers = [context.Process(target=_open_together, args=(str(tmp_path), barrier, queue))
               for _ in range(OPENERS)]
    for worker in workers:
        worker.start()
    failures = [failure for _ in workers for failure in queue.get(timeout=150)]
    for worker in workers:
        worker.join(timeout=30)
    assert failures == []
