"""The file types Coffre parses, the signature check made before any parser sees a file,
and the title an e-mail carries in its header (an HTML page's: `html_text`)."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

from ingest.elements import ParseError

# Extension -> (mime type, expected leading bytes or None)
SUPPORTED_TYPES: dict[str, tuple[str, bytes | None]] = {
    ".pdf": ("application/pdf", b"%PDF-"),
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", b"PK"),
    ".pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", b"PK"),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b"PK"),
    ".html": ("text/html", None),
    ".htm": ("text/html", None),
    ".eml": ("message/rfc822", None),
    ".md": ("text/markdown", None),
    ".markdown": ("text/markdown", None),
    ".txt": ("text/plain", None),
}
# Zip containers, checked for zip bombs before parsing (ingest.archives)
ZIP_BASED = frozenset({".docx", ".pptx", ".xlsx"})
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # encrypted Office files (and legacy .doc) are OLE containers


def check_signature(path: Path, expected: bytes | None) -> None:
    """Refuse an empty file, and one whose leading bytes are not its type's (`expected`)."""
    with path.open("rb") as handle:
        head = handle.read(8)
    if not head:
        raise ParseError(str(path), "empty file")
    if expected is None:
        return
    if head.startswith(_OLE_MAGIC):
        raise ParseError(str(path), "password-protected (encrypted) or legacy binary Office file")
    if not head.startswith(expected):
        raise ParseError(str(path), f"not a valid {path.suffix.lower()} file (wrong signature)")


def email_title(path: Path) -> str | None:
    """An e-mail's subject, or None."""
    with path.open("rb") as handle:
        message = email.message_from_binary_file(handle, policy=email.policy.default)
    subject = message.get("Subject")
    return str(subject).strip() if subject else None
