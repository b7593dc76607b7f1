"""Parsing in worker processes, each with a memory limit and a per-file timeout.

A hostile or broken file can make a parser take gigabytes or never return; in a worker it
takes down only that worker. A worker whose file ran out of memory (`MemoryError` under its
address-space limit, or killed by the OS) or out of time (killed here) is replaced by a fresh
one at the next file, and the file is refused by name with its reason.

Workers are fresh interpreters (`ingest.worker_main`), never forks: the parent has threads,
and the embedder's and the answer model's native state. They start lazily at the first file
and are reused for the files after it, because importing the parsers costs seconds.
The parent only sends paths and receives the `ParsedDocument` (or the parser's exception, of
the same type with the same message).
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from ingest.archives import ArchiveLimits
from ingest.elements import ParsedDocument, ParseError
from ingest.parsing import parse_file

ParseFunction = Callable[[Path, ArchiveLimits], ParsedDocument]
Initializer = Callable[..., object]

_START_WAIT_S = 120.0  # a worker's start-up (a fresh interpreter) is not the file's time


@dataclass(frozen=True)
class WorkerLimits:
    """What one file's parsing may take: address space of its worker, and wall time."""

    memory_mb: int = 4096
    timeout_s: float = 300.0


@dataclass(frozen=True)
class WorkerSetup:
    """What a worker runs: the parse function, and an optional start-up hook (with its
    arguments) run once in the worker before its first file. Both must be picklable:
    functions defined at module level."""

    parse: ParseFunction = parse_file
    initializer: Initializer | None = None
    initargs: tuple[Any, ...] = ()


def memory_reason(limits: WorkerLimits) -> str:
    """Why a file over the memory limit was refused, and what to do."""
    return (f"parsing needed more than {limits.memory_mb} MB (COFFRE_PARSE_MEMORY_MB); "
            f"split the file or raise the limit")


def timeout_reason(limits: WorkerLimits) -> str:
    """Why a file over the time limit was refused, and what to do."""
    return (f"parsing took longer than {limits.timeout_s:g} s (COFFRE_PARSE_TIMEOUT_S); "
            f"split the file or raise the limit")


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
    process.wait()


class _Worker:
    """One worker process and the socket to it; started on creation, killed on `stop`."""

    def __init__(self, setup: WorkerSetup, memory_mb: int) -> None:
        ours, theirs = socket.socketpair()
        # A fresh interpreter that imports only the worker (not the parent's main module, as
        # multiprocessing's spawn would); few malloc arenas, as each reserves address space
        # that the limit counts. The parent's import path, so the parse function is found.
        env = {**os.environ, "MALLOC_ARENA_MAX": "2",
               "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ingest.worker_main", str(theirs.fileno())],
            pass_fds=[theirs.fileno()], env=env, stdin=subprocess.DEVNULL)
        theirs.close()
        # A pool dropped without `close` still leaves no worker behind.
        weakref.finalize(self, _kill, self.process)
        self.conn = Connection(ours.detach())
        self.conn.send((setup, memory_mb))
        self.ready = False

    def wait_ready(self) -> None:
        """Wait for the worker's start-up; OSError if it could not start."""
        if self.ready:
            return
        if not self.conn.poll(_START_WAIT_S):
            raise OSError(f"parsing worker did not start within {_START_WAIT_S:g} s")
        try:
            self.conn.recv()
        except EOFError as exc:
            raise OSError(f"parsing worker failed to start ({self._death()})") from exc
        self.ready = True

    def _death(self) -> str:
        try:
            code: int | None = self.process.wait(5)
        except subprocess.TimeoutExpired:
            code = None
        if code is not None and code < 0:
            return f"killed by {signal.Signals(-code).name}"
        return f"exit code {code}"

    def send(self, path: Path, limits: ArchiveLimits) -> None:
        """Give the worker a file to parse."""
        self.wait_ready()
        self.conn.send((path, limits))

    def result(self, path: Path, limits: WorkerLimits, wait_s: float) -> ParsedDocument:
        """The parsed file, or its error raised; kills the worker when it overran."""
        if not self.conn.poll(max(0.0, wait_s)):
            self.stop()
            raise ParseError(str(path), timeout_reason(limits))
        try:
            kind, value, retiring = self.conn.recv()
        except EOFError:
            death = self._death()
            self.stop()
            if "SIGKILL" in death or "SIGABRT" in death:  # the OS's or the allocator's end
                raise ParseError(str(path), memory_reason(limits)) from None
            raise ParseError(str(path), f"the parser crashed ({death})") from None
        except Exception as exc:  # an error of the parser's own that does not unpickle
            self.stop()
            raise ParseError(str(path), f"cannot parse: {type(exc).__name__}: {exc}") from None
        if kind == "memory":
            self.stop()
            raise ParseError(str(path), memory_reason(limits))
        if retiring:  # grown large on its files: the next file gets a fresh worker
            self.stop()
        if kind == "error":
            raise value
        return value

    @property
    def alive(self) -> bool:
        """Whether the worker can take another file."""
        return self.process.poll() is None

    def stop(self) -> None:
        """Kill the worker (it holds nothing of value) and reap it."""
        with contextlib.suppress(OSError):
            self.conn.close()
        _kill(self.process)


class ParseWorkers:
    """A pool of parsing worker processes, started lazily and replaced when they die.

    `parse` blocks its caller until its file is parsed; callers in several threads (uploads
    at once) each get a worker of their own, up to `workers`, and wait for one beyond that.
    """

    def __init__(
        self, limits: WorkerLimits | None = None, *, workers: int = 1,
        setup: WorkerSetup | None = None,
    ) -> None:
        self.limits = limits or WorkerLimits()
        self.size = max(1, workers)
        self.setup = setup or WorkerSetup()
        self._workers: list[_Worker | None] = [None] * self.size
        self._idle: queue.SimpleQueue[int] = queue.SimpleQueue()
        for slot in range(self.size):
            self._idle.put(slot)
        self._lock = threading.Lock()  # guards the worker list against `close`

    def _worker(self, slot: int) -> _Worker:
        with self._lock:
            worker = self._workers[slot]
            if worker is None or not worker.alive:
                if worker is not None:
                    worker.stop()
                worker = _Worker(self.setup, self.limits.memory_mb)
                self._workers[slot] = worker
            return worker

    def parse(self, path: Path, limits: ArchiveLimits) -> ParsedDocument:
        """Parse one file in a worker; ParseError naming it when it overran a limit."""
        slot = self._idle.get()
        try:
            worker = self._worker(slot)
            worker.send(path, limits)
            return worker.result(path, self.limits, self.limits.timeout_s)
        finally:
            self._idle.put(slot)

    def pids(self) -> list[int]:
        """Process ids of the workers running now (none before the first file)."""
        with self._lock:
            return [w.process.pid for w in self._workers if w is not None and w.alive]

    def close(self) -> None:
        """Stop every worker; a later file starts a fresh one."""
        with self._lock:
            for slot, worker in enumerate(self._workers):
                if worker is not None:
                    worker.stop()
                self._workers[slot] = None

    def __enter__(self) -> ParseWorkers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class InProcessParser:
    """Parsing in the calling process, with no limit: for tests that do not test the
    workers and want no start-up cost. Never the default; never for untrusted files."""

    def __init__(self, parse: ParseFunction = parse_file) -> None:
        self._parse = parse

    def parse(self, path: Path, limits: ArchiveLimits) -> ParsedDocument:
        """Parse one file here and now."""
        return self._parse(path, limits)

    def close(self) -> None:
        """Nothing to stop."""
