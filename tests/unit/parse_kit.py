"""Parse functions for the worker tests, run inside parsing workers (so defined at module
level, where a worker finds them): by file name, one hangs, one takes gigabytes, one kills
its own process, one raises the parsers' error (a file whose text starts with "hang" hangs
too); any other file is read as plain text."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from ingest.archives import ArchiveLimits
from ingest.elements import Element, ParsedDocument, ParseError

GIB = 1024 * 1024 * 1024


def parse(path: Path, limits: ArchiveLimits) -> ParsedDocument:
    """What the file's name asks for; otherwise its lines as paragraphs, no parser involved."""
    if path.name.startswith("hang") or path.read_bytes().startswith(b"hang"):
        while True:
            time.sleep(60)
    if path.name.startswith("huge"):
        hoard = bytearray(2 * GIB)  # touched, so it is taken for real wherever it can be
        hoard[:: 4096] = b"x" * len(range(0, 2 * GIB, 4096))
    if path.name.startswith("killed"):
        os.kill(os.getpid(), signal.SIGKILL)
    if path.name.startswith("broken"):
        raise ParseError(str(path), "corrupt file (test)")
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    return ParsedDocument(path.stem, [Element("text", line) for line in lines], "text/plain")

