"""Who may do what: the access rules every channel applies, in one place.

Deny by default. Roles come from `api.roles`; groups from the caller's key or token. A
document the caller may not manage looks exactly like an absent one (404, same message).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from api.auth import Identity
from api.errors import ForbiddenError, NotFoundError
from api.roles import Role
from indexes.errors import InputError
from indexes.filters import SearchFilter
from indexes.records import DocumentRecord

# Asking and searching: every role but none (admins pass every check).
READER_ROLES = (Role.EMPLOYEE, Role.CONTENT_OWNER, Role.COMPLIANCE)
# The one reply to every upload the caller may not make, whatever the reason: it never
# tells whether the file was already there for groups the caller cannot see.
UPLOAD_REFUSED = ("content owners can only upload for groups they belong to, and cannot "
                  "replace a document outside their groups; ask an admin")


def require_reader(identity: Identity) -> None:
    """Raise ForbiddenError unless the caller may ask and search."""
    identity.require(*READER_ROLES)


def require_owner(identity: Identity) -> None:
    """Raise ForbiddenError unless the caller may upload and manage documents."""
    identity.require(Role.CONTENT_OWNER)


def require_auditor(identity: Identity) -> None:
    """Raise ForbiddenError unless the caller may read the audit trail."""
    identity.require(Role.COMPLIANCE)


def may_grant(identity: Identity, groups: Iterable[str]) -> bool:
    """Admins grant any group; content owners only groups they belong to themselves."""
    return identity.is_admin or set(groups) <= identity.groups


def check_grant(identity: Identity, groups: Iterable[str]) -> None:
    """Raise ForbiddenError when the caller may not give a document these groups."""
    if not may_grant(identity, groups):
        raise ForbiddenError("content owners can only grant groups they belong to")


def document_groups(groups: Iterable[str]) -> list[str]:
    """The groups a document is given, trimmed, deduplicated and sorted; InputError (422)
    when none is left, since a document without a group is out of every reader's reach,
    its owner's included."""
    kept = sorted({g.strip() for g in groups if g.strip()})
    if not kept:
        raise InputError("groups: give at least one group (a document with none could be "
                         "read by admins only; to withdraw a document, delete it)")
    return kept


def check_upload(
    identity: Identity, groups: Iterable[str], stored: Sequence[DocumentRecord] = ()
) -> None:
    """Raise ForbiddenError unless the caller may give an upload these groups.

    An upload of a file already stored (same name and bytes) gives its documents, `stored`,
    new groups: it passes the rule of a group change for each (`may_manage`, `may_grant`).
    Every refusal is the same, so it never reveals a document the caller cannot see.
    """
    wanted = list(groups)
    if not may_grant(identity, wanted) or not all(may_manage(identity, d) for d in stored):
        raise ForbiddenError(UPLOAD_REFUSED)


def may_manage(identity: Identity, document: DocumentRecord) -> bool:
    """Admins manage every document; content owners those sharing one of their groups."""
    return identity.is_admin or bool(identity.groups & set(document.groups))


def owned_document(
    identity: Identity, doc_id: str, document: DocumentRecord | None
) -> DocumentRecord:
    """The document (as looked up by `doc_id`) if the caller may manage it.

    ForbiddenError without the content-owner role; NotFoundError, the same as for an absent
    document, when it belongs to none of the caller's groups.
    """
    require_owner(identity)
    if document is None or not may_manage(identity, document):
        raise NotFoundError(f"no document {doc_id}")
    return document


def reader_filter(identity: Identity) -> SearchFilter:
    """The documents the caller may read: those sharing a group, or all for admins."""
    return identity.search_filter()


def chunk_filter(identity: Identity) -> SearchFilter:
    """What a passage lookup may see: compliance officers check any citation, so every
    chunk; everyone else only what they may read."""
    return SearchFilter() if Role.COMPLIANCE in identity.roles else reader_filter(identity)


def search_filter(identity: Identity, requested: SearchFilter | None = None) -> SearchFilter:
    """The request's own filters (documents, path, dates), within the caller's groups.

    The request never widens access: its groups, if any, are replaced by the caller's.
    """
    access = reader_filter(identity)
    if requested is None:
        return access
    return replace(requested, groups=access.groups)
