"""The access rules of api/access.py, one by one."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from api import access
from api.auth import Identity
from api.errors import ForbiddenError, NotFoundError
from indexes.errors import InputError
from indexes.filters import SearchFilter
from indexes.records import DocumentRecord


def who(*roles: str, groups: tuple[str, ...] = ()) -> Identity:
    return Identity("u", frozenset(groups), frozenset(roles), "api_key")


def document(*groups: str) -> DocumentRecord:
    return DocumentRecord("d1", "/docs/a.txt", "A", "h", "text/plain", "en", None,
                          "2024-05-01T10:00:00+00:00", 1, groups)


@pytest.mark.parametrize("role", ["employee", "content_owner", "compliance", "admin"])
def test_every_role_may_ask_and_search(role: str) -> None:
    access.require_reader(who(role))


def test_a_caller_without_a_known_role_may_not_ask() -> None:
    with pytest.raises(ForbiddenError, match="employee or content_owner or compliance"):
        access.require_reader(who("visitor"))


@pytest.mark.parametrize(("identity", "groups", "allowed"), [
    (who("content_owner", groups=("risk", "staff")), ["risk"], True),
    (who("content_owner", groups=("risk", "staff")), ["risk", "staff"], True),
    (who("content_owner", groups=("risk",)), ["risk", "board"], False),
    (who("content_owner", groups=("risk",)), [], True),
    (who("admin"), ["board", "anything"], True),
])
def test_owners_grant_only_their_own_groups_admins_any(
    identity: Identity, groups: list[str], allowed: bool
) -> None:
    assert access.may_grant(identity, groups) is allowed
    if allowed:
        access.check_grant(identity, groups)
    else:
        with pytest.raises(ForbiddenError, match="only grant groups they belong to"):
            access.check_grant(identity, groups)


def test_a_document_is_managed_by_admins_or_owners_of_one_of_its_groups() -> None:
    owner = who("content_owner", groups=("risk",))
    assert access.owned_document(owner, "d1", document("risk", "hr")).doc_id == "d1"
    assert access.owned_document(who("admin"), "d1", document()).doc_id == "d1"
    for hidden in (document("board"), document(), None):
        with pytest.raises(NotFoundError, match=r"^no document d1$"):
            access.owned_document(owner, "d1", hidden)


def test_managing_documents_needs_the_owner_role_before_anything_else() -> None:
    with pytest.raises(ForbiddenError):
        access.owned_document(who("employee", groups=("risk",)), "d1", document("risk"))
    with pytest.raises(ForbiddenError):
        access.owned_document(who("compliance"), "d1", None)


def test_compliance_sees_every_chunk_others_their_groups() -> None:
    assert access.chunk_filter(who("compliance", groups=("risk",))) == SearchFilter()
    assert access.chunk_filter(who("employee", groups=("risk",))) == SearchFilter(
        groups=frozenset({"risk"}))
    assert access.chunk_filter(who("admin")) == SearchFilter()


def test_request_filters_are_kept_within_the_callers_groups() -> None:
    since = datetime(2024, 1, 1, tzinfo=UTC)
    asked = SearchFilter(groups=frozenset({"board"}), doc_ids=frozenset({"d1"}),
                         path_prefix="/docs", ingested_after=since)
    merged = access.search_filter(who("employee", groups=("risk",)), asked)
    assert merged == SearchFilter(groups=frozenset({"risk"}), doc_ids=frozenset({"d1"}),
                                  path_prefix="/docs", ingested_after=since)
    assert access.search_filter(who("admin"), asked).groups is None
    assert access.search_filter(who("employee", groups=("risk",))) == SearchFilter(
        groups=frozenset({"risk"}))


def test_only_compliance_reads_the_trail() -> None:
    access.require_auditor(who("compliance"))
    access.require_auditor(who("admin"))
    with pytest.raises(ForbiddenError, match="compliance"):
        access.require_auditor(who("employee", "content_owner"))


def test_a_document_keeps_at_least_one_group() -> None:
    assert access.document_groups([" staff", "risk", "staff", ""]) == ["risk", "staff"]
    for none in ([], ["", "  "]):
        with pytest.raises(InputError, match=r"^groups: give at least one group"):
            access.document_groups(none)


def test_an_upload_of_a_stored_file_passes_the_rule_of_a_group_change() -> None:
    owner = who("content_owner", groups=("risk", "staff"))
    access.check_upload(owner, ["staff"])  # a new file
    access.check_upload(owner, ["staff"], [document("risk")])  # their own document
    access.check_upload(who("admin"), ["board"], [document("hr")])
    refusals = [(owner, ["board"], []), (owner, ["staff"], [document("board")]),
                (owner, ["staff"], [document("risk"), document()])]
    for identity, groups, stored in refusals:
        with pytest.raises(ForbiddenError) as refused:
            access.check_upload(identity, groups, stored)
        assert str(refused.value) == access.UPLOAD_REFUSED  # one reply for every reason
