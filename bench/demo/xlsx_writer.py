"""Write the demo corpus workbook (the fee schedule) from its TOML source."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import openpyxl
from corpus_common import FIXED_NAIVE, load_source, normalize_ooxml
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

Cell = str | float | None


def _style_header(sheet: Worksheet) -> None:
    """Make row 1 bold, shaded and wrapped."""
    header_fill = PatternFill("solid", fgColor="DCE2EB")
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = header_fill
        cell.alignment = Alignment(vertical="center", wrap_text=True)


def _fill_sheet(
    sheet: Worksheet, columns: Sequence[Mapping[str, Any]], rows: Sequence[Mapping[str, Any]]
) -> None:
    """Write the header and rows, then the number formats, widths, frozen header and filter."""
    sheet.append(tuple(column["header"] for column in columns))
    for row in rows:
        values: tuple[Cell, ...] = tuple(row.get(column["key"]) for column in columns)
        sheet.append(values)
    _style_header(sheet)
    for index, column in enumerate(columns, start=1):
        if "number_format" in column:
            for row_cells in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                for cell in row_cells:
                    cell.number_format = column["number_format"]
    for index, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column["width"]
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions


def write_xlsx(source_path: Path, out_path: Path) -> None:
    """Write the workbook, one sheet per ``[[sheet]]`` of the source, all with the same columns."""
    source = load_source(source_path)
    workbook = openpyxl.Workbook()
    for number, sheet_source in enumerate(source["sheet"]):
        if number == 0:
            sheet = workbook.active
            sheet.title = sheet_source["name"]
        else:
            sheet = workbook.create_sheet(sheet_source["name"])
        _fill_sheet(sheet, source["column"], sheet_source["row"])
    meta = source["metadata"]
    props = workbook.properties
    props.title = meta["title"]
    props.creator = meta["creator"]
    props.lastModifiedBy = meta["creator"]
    props.created = FIXED_NAIVE
    props.modified = FIXED_NAIVE
    workbook.save(str(out_path))
    normalize_ooxml(out_path)
