"""What a job reports: one outcome per file, and the progress events a caller follows."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


class FileStatus(StrEnum):
    """What became of one file (or of a stored document whose file left the folder)."""

    OK = "ok"  # stored: new, or a new version
    UNCHANGED = "unchanged"  # same content as stored: nothing to do
    FAILED = "failed"  # refused with a reason; what was stored before stays
    UNSUPPORTED = "unsupported"  # not a type Coffre reads
    RETIRED = "retired"  # gone from its folder: out of search, its versions kept


@dataclass
class FileOutcome:
    """What happened to one file, and why."""

    path: str
    status: FileStatus
    reason: str = ""
    documents: int = 0
    chunks: int = 0
    groups: tuple[str, ...] = ()


@dataclass
class IngestReport:
    """Outcomes of every file a job looked at."""

    outcomes: list[FileOutcome] = field(default_factory=list)

    def count(self, status: FileStatus) -> int:
        """Number of files with this status."""
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def chunks(self) -> int:
        """Chunks written by this job."""
        return sum(o.chunks for o in self.outcomes)


class IngestProgress(Protocol):
    """Receives progress events; the CLI draws a progress bar from them, a stored job
    records them. Raising from one (a cancelled job) stops the job between two files."""

    def file_done(self, outcome: FileOutcome) -> None:
        """A file has been fully processed (stored, skipped or failed)."""

    def chunks_done(self, count: int) -> None:
        """`count` more chunks have been embedded and stored."""


class JobCancelled(Exception):  # a signal between two files, not an error
    """Raised by a progress receiver to stop a job; what was committed stays."""
