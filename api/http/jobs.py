"""Ingestion jobs over HTTP (content owners, admins), and a document's version history.

`POST /v1/ingest/jobs` answers 202 at once with the job's id: either `{"source": NAME,
"groups": [...]}` as JSON, naming a folder of COFFRE_SOURCES (a caller never types a path),
or a multipart upload of `files` with a comma-separated `groups` field. The job runs in the
server's job runner; `GET` follows it, `DELETE` cancels it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from api import access
from api.auditing import JobAction, append, job_record
from api.auth import Identity
from api.errors import NotFoundError, TooLargeError
from api.http.deps import Caller, ServicesDep
from api.http.schemas.jobs import JobOut, SourceJobIn, VersionOut
from api.uploads import check_file_name, place_upload, stored_from, upload_groups, upload_path
from api.wiring import Services
from indexes.errors import InputError
from ingest.job_store import Job, JobSpec

router = APIRouter()
JOBS_PATH = "/v1/ingest/jobs"  # POST: its body limit is COFFRE_MAX_JOB_MB (api/http/limits.py)
MAX_JOB_FILES = 1000


def _visible(services: Services, identity: Identity, job_id: str) -> Job:
    """The job if the caller may see it (an admin, or its creator), else NotFound."""
    access.require_owner(identity)
    job = services.jobs.get(job_id)
    if job is None or not (identity.is_admin or job.spec.created_by == identity.user):
        raise NotFoundError(f"no ingestion job {job_id}")
    return job


def _queue(services: Services, identity: Identity, spec: JobSpec) -> Job:
    job = services.jobs.create(spec)
    append(services.audit, job_record(identity, JobAction.QUEUED, job.job_id, spec.source,
                                      spec.paths, spec.groups))
    services.job_runner.wake()
    return job


def _source_job(services: Services, identity: Identity, body: SourceJobIn) -> Job:
    groups = access.document_groups(body.groups)
    access.check_grant(identity, groups)
    if body.source not in services.job_runner.sources:
        names = ", ".join(sorted(services.job_runner.sources)) or "none is configured"
        raise InputError(f"source: no source named {body.source!r} (COFFRE_SOURCES: {names})")
    return _queue(services, identity, JobSpec(identity.user, body.source, (), tuple(groups),
                                              sync=True))


async def _upload_job(services: Services, identity: Identity, request: Request) -> Job:
    async with request.form(max_files=MAX_JOB_FILES) as form:  # its spooled files closed
        return await _queue_uploads(services, identity, form)


async def _queue_uploads(services: Services, identity: Identity, form: FormData) -> Job:
    """Check every file and its groups, keep them under the data folder, queue the job."""
    groups = upload_groups(str(form.get("groups") or ""))
    access.check_upload(identity, groups)
    uploads = [f for f in form.getlist("files") if isinstance(f, UploadFile)]
    if not uploads:
        raise InputError("files: give at least one file (multipart field `files`)")
    limit = int(services.settings.max_file_mb * 1024 * 1024)
    folder = services.settings.data_dir / "uploads"
    kept = []
    for upload in uploads:
        name = check_file_name(upload.filename or "")
        data = await upload.read(limit + 1)
        if len(data) > limit:
            raise TooLargeError(f"{name}: over the {services.settings.max_file_mb:g} MB limit")
        stored = await run_in_threadpool(stored_from, services.index.store,
                                         upload_path(folder, name, data))
        access.check_upload(identity, groups, stored)
        kept.append((name, data))
    paths = [str(await run_in_threadpool(place_upload, folder, name, data, groups))
             for name, data in kept]
    spec = JobSpec(identity.user, "", tuple(paths), tuple(groups), sync=False)
    return await run_in_threadpool(_queue, services, identity, spec)


@router.post(JOBS_PATH, response_model=JobOut, status_code=202,
             summary="Queue an ingestion job over a source folder or uploaded files "
                     "(content owner, admin)")
async def create_job(request: Request, identity: Caller, services: ServicesDep) -> JobOut:
    """JSON `{"source": NAME, "groups": [...]}`, or multipart `files` and `groups`."""
    access.require_owner(identity)
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        job = await _upload_job(services, identity, request)
    else:
        try:
            body = SourceJobIn.model_validate(await _json(request))
        except ValidationError as exc:  # FastAPI's 422, as for a body it read itself
            raise RequestValidationError(exc.errors()) from None
        job = await run_in_threadpool(_source_job, services, identity, body)
    return JobOut.of(job)


async def _json(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError as exc:
        raise InputError("body: send JSON {\"source\": NAME, \"groups\": [...]}, or a "
                         "multipart upload of `files` with `groups`") from exc


@router.get(JOBS_PATH, response_model=list[JobOut], summary="Ingestion jobs, newest first")
async def list_jobs(identity: Caller, services: ServicesDep) -> list[JobOut]:
    """An admin's view: every job; a content owner's: their own."""
    access.require_owner(identity)
    mine = None if identity.is_admin else identity.user
    jobs = await run_in_threadpool(services.jobs.jobs, mine)
    return [JobOut.of(j) for j in jobs]


@router.get(JOBS_PATH + "/{job_id}", response_model=JobOut, summary="An ingestion job")
async def show_job(job_id: str, identity: Caller, services: ServicesDep) -> JobOut:
    """State, progress, timings, and every file's outcome with its reason."""
    job = await run_in_threadpool(_visible, services, identity, job_id)
    return JobOut.of(job, with_files=True)


def _cancel(services: Services, identity: Identity, job_id: str) -> Job:
    job = _visible(services, identity, job_id)
    cancelled = services.jobs.cancel(job_id) or job
    append(services.audit, job_record(identity, JobAction.CANCELLED, job_id, job.spec.source,
                                      job.spec.paths, job.spec.groups))
    return cancelled


@router.delete(JOBS_PATH + "/{job_id}", response_model=JobOut, status_code=202,
               summary="Cancel an ingestion job (a running one stops after its current file)")
async def cancel_job(job_id: str, identity: Caller, services: ServicesDep) -> JobOut:
    """A queued job is cancelled at once; a running one keeps what it committed."""
    return JobOut.of(await run_in_threadpool(_cancel, services, identity, job_id))


def _versions(services: Services, identity: Identity, doc_id: str) -> list[VersionOut]:
    if not identity.is_admin:  # an owner sees the history of what they manage now
        access.owned_document(identity, doc_id, services.index.store.document(doc_id))
    versions = services.index.store.versions(doc_id)
    if not versions:
        raise NotFoundError(f"no document {doc_id}")
    return [VersionOut.of(v) for v in versions]


@router.get("/v1/documents/{doc_id}/versions", response_model=list[VersionOut],
            summary="A document's versions, oldest first (content owner, admin)")
async def versions(doc_id: str, identity: Caller, services: ServicesDep) -> list[VersionOut]:
    """Every version stored, the current one marked; a retired document's too (admins)."""
    return await run_in_threadpool(_versions, services, identity, doc_id)

