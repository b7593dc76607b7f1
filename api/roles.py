"""The roles a caller can hold (one per API key; any number from an identity provider)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What a caller may do; see api/access.py for the rules built on them."""

    EMPLOYEE = "employee"  # ask and search within their groups
    CONTENT_OWNER = "content_owner"  # also upload, delete and regroup their groups' documents
    COMPLIANCE = "compliance"  # also the audit trail and any cited passage
    ADMIN = "admin"  # everything, every document
