"""The program a parsing worker runs (`python -m ingest.worker_main FD`): a loop that parses
each file the parent sends over the socket FD and sends back the document or the error.

It imports nothing but the parse function it is given, so a worker starts in a fraction of
a second and holds the parsers alone: no embedder, no answer model, no server.
"""

from __future__ import annotations

import os
import resource
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

RETIRE_SHARE = 0.6


def _limit_memory(memory_mb: int) -> None:
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _retiring(memory_mb: int) -> bool:
    """Whether this worker has grown past the share of its limit after which it is replaced,
    so that what earlier files left (fragmented heap, caches) does not fail a later file."""
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[0])
    return pages * resource.getpagesize() > RETIRE_SHARE * memory_mb * 1024 * 1024


def _send_error(conn: Connection, path: Path, exc: Exception, retiring: bool) -> None:
    from ingest.errors import ParseError

    try:
        conn.send(("error", exc, retiring))
    except Exception:  # an exception that does not pickle: its text still names the file
        reason = f"cannot parse: {type(exc).__name__}: {exc}"
        conn.send(("error", ParseError(str(path), reason), retiring))


def _exit_with_parent(parent: int) -> None:
    """End this worker when its parent is gone, even in the middle of a hung parse (an
    orphan would hold its memory forever)."""
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(1)


def serve(conn: Connection) -> None:
    """Receive the set-up, then parse file after file until the parent hangs up."""
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    setup: Any
    setup, memory_mb = conn.recv()
    _limit_memory(memory_mb)
    if setup.initializer is not None:
        setup.initializer(*setup.initargs)
    conn.send(("ready", os.getpid()))
    while True:
        try:
            path, limits = conn.recv()
        except EOFError:  # the parent closed the pool
            return
        try:
            document = setup.parse(path, limits)
        except MemoryError:
            # Whatever was half built is unreliable now: the next file gets a fresh worker.
            conn.send(("memory", None, True))
            return
        except Exception as exc:  # sent back whole: the parent raises it as the parser did
            _send_error(conn, path, exc, _retiring(memory_mb))
            continue
        try:
            conn.send(("ok", document, _retiring(memory_mb)))
        except MemoryError:  # no room left to pickle it
            conn.send(("memory", None, True))
            return


if __name__ == "__main__":
    serve(Connection(int(sys.argv[1])))
