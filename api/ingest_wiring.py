"""Builds what ingestion runs with from the settings: parse limits and workers, the jobs
on record and the folders a job may name."""

from __future__ import annotations

import re
from pathlib import Path

from api.errors import SettingsError
from api.settings import Settings
from ingest.archives import ArchiveLimits
from ingest.job_store import JobStore
from ingest.workers import ParseWorkers, WorkerLimits

_SOURCE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


def archive_limits(settings: Settings) -> ArchiveLimits:
    """What a zip-based file may hold before it is parsed (COFFRE_ARCHIVE_*)."""
    return ArchiveLimits(max_inflated_bytes=int(settings.archive_max_mb * 1024 * 1024),
                         max_ratio=settings.archive_max_ratio,
                         max_members=settings.archive_max_members)


def parse_workers(settings: Settings) -> ParseWorkers:
    """The parsing worker processes (COFFRE_PARSE_*), none started until the first file."""
    return ParseWorkers(WorkerLimits(settings.parse_memory_mb, settings.parse_timeout_s),
                        workers=settings.parse_workers)


def job_store(settings: Settings) -> JobStore:
    """The ingestion jobs of this data directory (the server's and the CLI's)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return JobStore(settings.data_dir / "jobs.sqlite3")


def source_folders(settings: Settings) -> dict[str, Path]:
    """The folders jobs may name, from COFFRE_SOURCES (name=/folder,...)."""
    folders: dict[str, Path] = {}
    for pair in (p.strip() for p in settings.sources.split(",") if p.strip()):
        name, _, folder = pair.partition("=")
        name, path = name.strip(), Path(folder.strip())
        if not _SOURCE_NAME.fullmatch(name) or not path.is_absolute():
            raise SettingsError(f"COFFRE_SOURCES: {pair!r} is not name=/absolute/folder "
                                f"(a name of letters, digits, - and _)")
        folders[name] = path
    return folders
