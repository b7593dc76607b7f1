"""SIGKILL a real `coffre ingest` at several points of its job (before the first commit,
among the commits, once every document is committed) and check after each that the store,
the keyword index and FAISS agree on the same chunks, that nothing committed is lost, and
that running the job again finishes it."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from indexes.store import Store
from indexes.vectors import VectorIndex
from ingest.job_store import JobState, JobStore

FILES = 300
DOCUMENTS = 2 * FILES  # two records a file, one chunk each: embedded in three batches


def write_corpus(folder: Path) -> None:
    folder.mkdir()
    for n in range(FILES):
        lines = [json.dumps({"_id": f"r{n}-{k}", "title": f"Rule {n}.{k}",
                             "text": f"Rule {n}.{k}: the limit for desk {n} is {n * 10 + k} "
                                     f"thousand euros per day."}) + "\n" for k in range(2)]
        (folder / f"rules-{n:03d}.jsonl").write_text("".join(lines))


def documents(data: Path) -> int:
    """Documents committed so far, read as another process would."""
    path = data / "index" / "store.sqlite3"
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
            return int(db.execute("SELECT count(*) FROM documents").fetchone()[0])
    except sqlite3.OperationalError:  # not created yet
        return 0


def running(data: Path) -> bool:
    path = data / "jobs.sqlite3"
    if not path.exists():
        return False
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
            row = db.execute("SELECT count(*) FROM jobs WHERE state = 'running'").fetchone()
    except sqlite3.OperationalError:  # not created yet
        return False
    return bool(row[0])


def kill_when(command: list[str], env: dict[str, str], ready: Callable[[], bool]) -> None:
    """Start `command`, SIGKILL it as soon as `ready()`, and reap it."""
    with subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE) as process:
        deadline = time.monotonic() + 300
        while not ready():
            assert process.poll() is None, f"ended before the kill: {process.stderr.read()!r}"
            assert time.monotonic() < deadline, "the kill point was never reached"
            time.sleep(0.005)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL


def check_consistent(data: Path) -> int:
    """Store, keyword terms and FAISS agree; every document whole; the chunks held."""
    store = Store(data / "index" / "store.sqlite3")
    db = store._db
    chunk_ids = {int(r[0]) for r in db.execute("SELECT rowid FROM chunks")}
    term_ids = {int(r[0]) for r in db.execute("SELECT rowid FROM chunk_terms")}
    assert chunk_ids == term_ids
    for doc_id, count in db.execute(
        "SELECT d.doc_id, (SELECT count(*) FROM chunks c WHERE c.doc_id = d.doc_id) "
        "FROM documents d"
    ):
        versions = store.versions(str(doc_id))
        assert count == versions[-1].chunk_count == 1 and versions[-1].current
    dimension = store.get_meta("dimension")
    if dimension is not None:
        vectors = VectorIndex(data / "index", int(dimension))
        vectors.sync(store)  # the saved file if it is this generation's, else rebuilt
        faiss_ids = {int(i) for i in np.asarray(
            [vectors._index.id_map.at(i) for i in range(vectors._index.id_map.size())])}
        assert faiss_ids == chunk_ids and vectors.size == len(chunk_ids)
    store.close()
    return len(chunk_ids)


def test_a_killed_ingestion_leaves_a_consistent_index_and_a_rerun_finishes_it(
    tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    write_corpus(corpus)
    data = tmp_path / "data"
    env = {**os.environ, "COFFRE_DATA_DIR": str(data), "COFFRE_MODELS_DIR": str(tmp_path / "m")}
    ingest = [sys.executable, "-m", "api.cli", "ingest", "--groups", "staff", str(corpus)]
    committed = 0
    points = [
        lambda: running(data),  # job started, nothing committed yet
        lambda: documents(data) > committed,  # among the commits of a batch
        lambda: documents(data) >= 2 * DOCUMENTS // 3,
        lambda: documents(data) == DOCUMENTS,  # all committed; the save and finish are next
    ]
    for point in points:
        kill_when(ingest, env, point)
        chunks = check_consistent(data)
        assert chunks >= committed  # nothing committed was lost
        committed = documents(data)
    finished = subprocess.run(ingest, env=env, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr
    assert check_consistent(data) == DOCUMENTS
    jobs = JobStore(data / "jobs.sqlite3")
    states = [job.state for job in reversed(jobs.jobs())]
    assert states == [JobState.RUNNING] * len(points) + [JobState.DONE]  # the killed ones
    assert jobs.recover() and all(j.state is JobState.QUEUED for j in jobs.jobs()[1:])
    jobs.close()
