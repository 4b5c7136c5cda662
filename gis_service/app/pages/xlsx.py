"""Ledgers (台账) as XLSX: Chinese headers, a frozen header row, sensible widths."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font


def workbook(
    title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]
) -> bytes:
    """One sheet named ``title``: a bold header row, then the rows, as bytes."""
    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    sheet.append(list(headers))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(list(row))
    sheet.freeze_panes = "A2"
    for index, header in enumerate(headers, start=1):
        letter = sheet.cell(row=1, column=index).column_letter
        sheet.column_dimensions[letter].width = max(10, 2 * len(header) + 4)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
