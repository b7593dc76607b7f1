"""Table detection for PDFs, where unstructured's offline ("fast") strategy finds none.

The "hi_res" strategy needs layout-model weights from a hub, unavailable offline, so tables
are found with pdfplumber instead: ruled or shaded cells give table fragments (financial
filings shade every other row, so one table comes back as many one-row fragments); fragments
stacked in the same column band are merged into one region, the words inside it are grouped
into rows and cells, and the short lines just above the region are taken as its header.
"""

from __future__ import annotations

from dataclasses import dataclass

import pdfplumber

# Fragments of one table: same left and right edges within this many points...
_EDGE_TOLERANCE = 3.0
# ...and at most this far apart vertically (room for one or two unshaded rows).
_MAX_GAP = 30.0
# Lines starting at most this far above a region are candidates for its header.
_HEADER_REACH = 30.0
_MAX_HEADER_LINES = 2
_MAX_HEADER_WORDS = 12
# Words further apart than this on one line start a new cell.
_CELL_GAP = 7.0
_LINE_TOLERANCE = 3.0


@dataclass
class PdfTable:
    """A table found on a page: its bounding box (points, top-left origin) and rows."""

    page: int
    bbox: tuple[float, float, float, float]
    rows: list[list[str]]
    header_rows: int


def _merge_fragments(
    boxes: list[tuple[float, float, float, float]],
) -> list[tuple[float, float, float, float]]:
    merged: list[tuple[float, float, float, float]] = []
    for box in sorted(boxes, key=lambda b: (b[1], b[0])):
        if merged:
            x0, top, x1, bottom = merged[-1]
            same_band = abs(box[0] - x0) <= _EDGE_TOLERANCE and abs(box[2] - x1) <= _EDGE_TOLERANCE
            if same_band and box[1] - bottom <= _MAX_GAP:
                merged[-1] = (x0, top, x1, max(bottom, box[3]))
                continue
        merged.append(box)
    return merged


def _lines(words: list[dict[str, object]]) -> list[list[dict[str, object]]]:
    """Group words into lines by their top coordinate, left to right."""
    lines: list[list[dict[str, object]]] = []
    for word in sorted(words, key=lambda w: (float(str(w["top"])), float(str(w["x0"])))):
        top = float(str(word["top"]))
        if lines and abs(float(str(lines[-1][0]["top"])) - top) <= _LINE_TOLERANCE:
            lines[-1].append(word)
        else:
            lines.append([word])
    return [sorted(line, key=lambda w: float(str(w["x0"]))) for line in lines]


def _cells(line: list[dict[str, object]]) -> list[str]:
    cells: list[list[str]] = []
    previous_end: float | None = None
    for word in line:
        start = float(str(word["x0"]))
        if previous_end is None or start - previous_end > _CELL_GAP:
            cells.append([])
        cells[-1].append(str(word["text"]))
        previous_end = float(str(word["x1"]))
    return [" ".join(c) for c in cells]


def _header_lines(
    words: list[dict[str, object]], region: tuple[float, float, float, float]
) -> list[list[dict[str, object]]]:
    x0, top, x1, _ = region
    above = [
        w for w in words
        if top - _HEADER_REACH <= float(str(w["top"])) < top - 1
        and float(str(w["x0"])) >= x0 - _EDGE_TOLERANCE
        and float(str(w["x1"])) <= x1 + _EDGE_TOLERANCE
    ]
    lines = _lines(above)[-_MAX_HEADER_LINES:]
    return [line for line in lines if len(line) <= _MAX_HEADER_WORDS]


def find_tables(path: str) -> list[PdfTable]:
    """Every table of at least two rows and two columns in the PDF, in page order."""
    tables: list[PdfTable] = []
    with pdfplumber.open(path) as pdf:
        for number, page in enumerate(pdf.pages, start=1):
            found = page.find_tables()
            if not found:
                continue
            words = page.extract_words(keep_blank_chars=False, use_text_flow=False)
            for region in _merge_fragments([tuple(t.bbox) for t in found]):  # type: ignore[misc]
                whole = [t for t in found if tuple(t.bbox) == region]
                table = (
                    _ruled_table(number, whole[0].extract())
                    if whole
                    else _region_table(number, region, words)
                )
                if table is not None:
                    table.bbox = region
                    tables.append(table)
    return tables


def _ruled_table(page: int, extracted: list[list[str | None]]) -> PdfTable | None:
    """A fully ruled table, read cell by cell (cells may hold several lines)."""
    rows = [[" ".join((cell or "").split()) for cell in row] for row in extracted]
    rows = [row for row in rows if any(row)]
    if len(rows) < 2 or max(len(r) for r in rows) < 2:
        return None
    return PdfTable(page, (0.0, 0.0, 0.0, 0.0), rows, 1)


def _region_table(
    page: int, region: tuple[float, float, float, float], words: list[dict[str, object]]
) -> PdfTable | None:
    x0, top, x1, bottom = region
    inside = [
        w for w in words
        if x0 - 1 <= float(str(w["x0"])) and float(str(w["x1"])) <= x1 + 1
        and top - 1 <= float(str(w["top"])) and float(str(w["bottom"])) <= bottom + 1
    ]
    body = [_cells(line) for line in _lines(inside)]
    if len(body) < 2 or max(len(r) for r in body) < 2:
        return None
    header = _header_lines(words, region)
    rows = [_cells(line) for line in header] + body
    top_edge = min([top] + [float(str(line[0]["top"])) for line in header])
    return PdfTable(page, (x0, top_edge, x1, bottom), rows, len(header) + 1)
