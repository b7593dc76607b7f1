"""Bodies of the ingestion job routes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from indexes.records import VersionRecord
from ingest.job_store import Job
from ingest.outcomes import FileOutcome, FileStatus


class SourceJobIn(BaseModel):
    """A job over a configured source folder (its name in COFFRE_SOURCES)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"source": "policies", "groups": ["staff"]}]},
    )

    source: str = Field(..., max_length=64, description="A source named in COFFRE_SOURCES.")
    groups: list[str] = Field(..., description="Groups for documents without an access file.")


class FileOutcomeOut(BaseModel):
    """What became of one file of the job."""

    path: str
    status: FileStatus
    reason: str
    chunks: int

    @classmethod
    def of(cls, outcome: FileOutcome) -> FileOutcomeOut:
        """From the job's record."""
        return cls(path=outcome.path, status=outcome.status, reason=outcome.reason,
                   chunks=outcome.chunks)


class JobOut(BaseModel):
    """An ingestion job: its state, progress, timings and (when asked) every file's outcome."""

    job_id: str
    state: str = Field(..., description="queued, running, done, failed or cancelled.")
    source: str = Field(..., description="The source folder's name; empty for uploaded files.")
    groups: list[str]
    created_by: str
    created_at: str
    started_at: str | None
    finished_at: str | None
    files_total: int
    files_done: int
    chunks: int
    counts: dict[str, int] = Field(..., description="Files done, by status.")
    cancel_requested: bool
    note: str
    files: list[FileOutcomeOut] | None = None

    @classmethod
    def of(cls, job: Job, *, with_files: bool = False) -> JobOut:
        """From the job's record; its file list only when `with_files`."""
        return cls(
            job_id=job.job_id, state=job.state.value, source=job.spec.source,
            groups=list(job.spec.groups), created_by=job.spec.created_by,
            created_at=job.created_at, started_at=job.started_at,
            finished_at=job.finished_at, files_total=job.files_total,
            files_done=job.files_done, chunks=job.chunks,
            counts={s.value: job.count(s) for s in FileStatus if job.count(s)},
            cancel_requested=job.cancel_requested, note=job.note,
            files=[FileOutcomeOut.of(f) for f in job.files] if with_files else None,
        )


class VersionOut(BaseModel):
    """One version of a document."""

    version: int
    content_hash: str
    ingested_at: str
    source_modified_at: str | None
    chunks: int
    current: bool
    ended: str | None = Field(None, description="replaced, retired or deleted.")
    ended_at: str | None

    @classmethod
    def of(cls, version: VersionRecord) -> VersionOut:
        """From the store's record."""
        return cls(version=version.version, content_hash=version.content_hash,
                   ingested_at=version.ingested_at,
                   source_modified_at=version.source_modified_at, chunks=version.chunk_count,
                   current=version.current, ended=version.ended, ended_at=version.ended_at)
