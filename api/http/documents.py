"""The document routes: list, upload, delete, change groups (content owners, admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from starlette.concurrency import run_in_threadpool

from api import access
from api.auditing import (
    Channel,
    append,
    delete_record,
    document_list_record,
    set_groups_record,
    upload_record,
)
from api.auth import Identity
from api.errors import ForbiddenError, TooLargeError
from api.http.deps import Caller, ServicesDep
from api.http.schemas.common import DocumentOut
from api.http.schemas.documents import GroupsUpdate, IngestOut
from api.uploads import (
    KEPT,
    UploadRefusal,
    check_file_name,
    store_upload,
    stored_from,
    upload_groups,
    upload_path,
)
from api.wiring import Services
from indexes.errors import InputError
from indexes.records import DocumentRecord
from ingest.outcomes import FileOutcome

router = APIRouter()
UPLOAD_PATH = "/v1/documents"  # POST: its body limit is that of files (api/http/limits.py)
AUDITED_NAME_CHARS = 512  # of a refused file name, however long it was


def _owned(services: Services, identity: Identity, doc_id: str) -> DocumentRecord:
    """The document if the caller may manage it, else Forbidden or NotFound (blocking)."""
    return access.owned_document(identity, doc_id, services.index.store.document(doc_id))


def _listed(services: Services, identity: Identity) -> list[DocumentRecord]:
    """The documents the caller may read, the listing on the record (blocking)."""
    docs = services.index.store.documents(access.reader_filter(identity))
    append(services.audit, document_list_record(identity, Channel.HTTP, docs))
    return docs


@router.get("/v1/documents", response_model=list[DocumentOut], summary="Ingested documents")
async def documents(identity: Caller, services: ServicesDep) -> list[DocumentOut]:
    """The documents the caller may read (audited: no record, no listing)."""
    docs = await run_in_threadpool(_listed, services, identity)
    return [DocumentOut.of(d) for d in docs]


def _check_name(services: Services, identity: Identity, filename: str, groups: list[str]) -> None:
    """InputError naming `file` for a name no file can have, refused on the record."""
    try:
        check_file_name(filename)
    except InputError:
        append(services.audit, upload_record(identity, filename[:AUDITED_NAME_CHARS], groups,
                                             UploadRefusal.BAD_NAME))
        raise


def _ingest_upload(
    services: Services, identity: Identity, filename: str, data: bytes, groups: list[str]
) -> FileOutcome:
    """Keep and ingest the upload, and put it on the record whatever became of it.

    The same name and bytes again give the documents already stored from them new groups:
    allowed as a group change is (`access.check_upload`), and recorded as one.
    """
    folder = services.settings.data_dir / "uploads"
    path = upload_path(folder, filename, data)
    stored = stored_from(services.index.store, path)
    try:
        access.check_upload(identity, groups, stored)
    except ForbiddenError:
        append(services.audit, upload_record(identity, str(path), groups,
                                             UploadRefusal.FORBIDDEN))
        raise
    outcome = store_upload(services.ingester, folder, filename, data, groups)
    if outcome.status in KEPT:
        for document in stored:
            if list(document.groups) != groups:
                append(services.audit, set_groups_record(identity, document.doc_id, groups))
    append(services.audit, upload_record(identity, outcome.path, groups, outcome.status))
    return outcome


@router.post(UPLOAD_PATH, response_model=IngestOut, status_code=201,
             summary="Upload and ingest a document for some groups (content owner, admin)")
async def upload(
    identity: Caller,
    services: ServicesDep,
    file: Annotated[UploadFile, File(description="The document (PDF, DOCX, ...).")],
    groups: Annotated[str, Form(description="Comma-separated groups allowed to read it.")],
) -> IngestOut:
    """Ingest an uploaded file for `groups` (the caller's own, unless an admin)."""
    access.require_owner(identity)
    wanted = upload_groups(groups)
    access.check_upload(identity, wanted)  # a new file's rule; a stored one's is checked later
    name = file.filename or ""
    await run_in_threadpool(_check_name, services, identity, name, wanted)
    max_mb = services.settings.max_file_mb
    limit = int(max_mb * 1024 * 1024)
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise TooLargeError(f"{file.filename}: over the {max_mb:g} MB limit")
    outcome = await run_in_threadpool(_ingest_upload, services, identity, name, data, wanted)
    if outcome.status not in KEPT:
        raise InputError(f"{file.filename}: {outcome.reason}")
    return IngestOut(file=name, status=outcome.status, chunks=outcome.chunks, groups=wanted)


def _delete(services: Services, identity: Identity, doc_id: str) -> None:
    _owned(services, identity, doc_id)
    services.index.delete(doc_id)
    services.index.save()
    append(services.audit, delete_record(identity, doc_id))


@router.delete("/v1/documents/{doc_id}", status_code=204,
               summary="Delete a document, its chunks and vectors (content owner, admin)")
async def delete_document(doc_id: str, identity: Caller, services: ServicesDep) -> None:
    """Delete a document the caller manages."""
    await run_in_threadpool(_delete, services, identity, doc_id)


def _set_groups(
    services: Services, identity: Identity, doc_id: str, groups: list[str]
) -> DocumentRecord:
    groups = access.document_groups(groups)  # never none: the document would be lost to all
    _owned(services, identity, doc_id)
    access.check_grant(identity, groups)
    services.index.store.set_groups(doc_id, groups)
    append(services.audit, set_groups_record(identity, doc_id, groups))
    document = services.index.store.document(doc_id)
    assert document is not None  # just updated, under the caller's own request
    return document


@router.patch("/v1/documents/{doc_id}", response_model=DocumentOut,
              summary="Change who may read a document (content owner, admin)")
async def set_groups(
    doc_id: str, body: GroupsUpdate, identity: Caller, services: ServicesDep
) -> DocumentOut:
    """Give a document the caller manages new groups (their own, unless an admin)."""
    document = await run_in_threadpool(_set_groups, services, identity, doc_id, body.groups)
    return DocumentOut.of(document)
