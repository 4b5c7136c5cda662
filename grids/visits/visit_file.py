"""A day's visits as a file: CSV (any header names the township uses) or JSON.

Headers map like the layer imports' (``gis_service.core.columns``): 户号, 走访时间,
走访事由 … map by themselves, ``TARGET=SOURCE`` mappings win, and a GBK CSV
from Excel is read with a warning. Purposes and demand categories may be given
in Chinese (政策宣传, 就业 …). Rows are numbered as the spreadsheet shows them
(header = row 1).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from typing import Any

from gis_service.core.charsets import decode
from gis_service.core.columns import Wanted, map_hint, match_columns
from gis_service.core.errors import InvalidInput, UnsupportedMedia
from gis_service.core.vocab import canonical, value_aliases
from grids.models import DEMAND_CATEGORIES, VISIT_PURPOSES

CSV_COLUMNS = ("household", "cadre", "visited_at", "purpose", "notes", "lon", "lat")
CSV_DEMAND_COLUMNS = {
    "demand_category": "category",
    "demand_description": "description",
    "demand_due": "due_date",
    "demand_owner": "owner",
}
WANTED = (
    Wanted("household", ("户号", "户编号", "农户户号", "农户编号", "走访户"),
           ("户主", "户主姓名", "household_id", "农户")),
    Wanted("cadre", ("网格员编号", "走访人编号", "人员编号"),
           ("网格员", "走访人", "cadre_id", "走访人员")),
    Wanted("visited_at", ("走访时间", "走访日期", "时间", "日期", "date", "time")),
    Wanted("purpose", ("走访事由", "事由", "走访目的", "目的", "走访类型")),
    Wanted("notes", ("备注", "走访情况", "情况记录", "走访记录", "记录")),
    Wanted("lon", ("经度", "lng", "longitude")),
    Wanted("lat", ("纬度", "latitude")),
    Wanted("demand_category", ("诉求类别", "诉求类型")),
    Wanted("demand_description", ("诉求内容", "诉求", "诉求描述")),
    Wanted("demand_due", ("办结期限", "诉求期限")),
    Wanted("demand_owner", ("责任人", "诉求责任人", "责任人编号")),
)  # fmt: skip
FIRST_ROW = 2  # the header is row 1


def parse_visit_file(
    content: bytes,
    *,
    media_type: str,
    field_map: Mapping[str, str] | None = None,
    encoding: str | None = None,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows of a CSV file or a JSON list as dicts to validate, and warnings."""
    kind = media_type.split(";")[0].strip().lower()
    if kind in ("application/json", "json"):
        try:
            data = json.loads(content.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidInput(f"invalid JSON: {exc}") from exc
        if not isinstance(data, list):
            raise InvalidInput("a JSON visit batch must be a list of visit objects")
        return data, []
    if kind in ("text/csv", "csv", "application/csv"):
        body, warnings = decode(content, encoding, "the visits CSV")
        rows, more = _csv_rows(body, field_map or {})
        return rows, warnings + more
    raise UnsupportedMedia(
        f"visits can be imported from text/csv or application/json, not {media_type!r}"
    )


def _csv_rows(
    body: str, field_map: Mapping[str, str]
) -> tuple[list[dict[str, Any]], list[str]]:
    """CSV rows to visit dicts; empty cells are missing values, demand_* a demand."""
    # newline="": the csv module splits \r, \n and \r\n line ends itself
    reader = csv.reader(io.StringIO(body, newline=""))
    read = 0
    try:
        header = next(reader, [])
        matched = match_columns(header, WANTED, field_map)
        index = {target: header.index(c) for c, target in matched.rename.items()}
        missing = [n for n in ("household", "visited_at") if n not in index]
        if missing:
            errors: list[dict[str, Any]] = []
            for name in missing:
                column = matched.suggestions.get(name)
                how = map_hint(name, column) if column else f"--map {name}=COLUMN"
                errors.append(
                    {"feature": None, "field": name,
                     "reason": f"the file has no {name} column; pass {how}"}
                )  # fmt: skip
            raise InvalidInput(
                "; ".join(str(e["reason"]) for e in errors)
                + f" (the file's columns: {', '.join(header)})",
                errors=errors,
            )
        warnings = []
        if matched.unused:
            warnings.append(f"ignored columns: {', '.join(matched.unused)}")
        rows: list[dict[str, Any]] = []
        for cells in reader:
            read += 1
            if any(c.strip() for c in cells):
                rows.append(_row(cells, index))
    except csv.Error as exc:
        line = FIRST_ROW + read  # the row being read when it failed
        raise InvalidInput(
            f"malformed CSV at line {line}: {exc}",
            errors=[{"feature": line, "row": line, "field": "csv", "reason": str(exc)}],
        ) from exc
    return rows, warnings


def _row(cells: list[str], index: dict[str, int]) -> dict[str, Any]:
    """One visit dict from a CSV row (codes for purposes and categories)."""
    values = {
        name: cells[i].strip()
        for name, i in index.items()
        if i < len(cells) and cells[i].strip()
    }
    row: dict[str, Any] = {k: values[k] for k in CSV_COLUMNS if k in values}
    if "purpose" in row:
        row["purpose"] = canonical(row["purpose"], VISIT_PURPOSES, PURPOSES)
    demand = {v: values[k] for k, v in CSV_DEMAND_COLUMNS.items() if k in values}
    if "category" in demand:
        demand["category"] = canonical(
            demand["category"], DEMAND_CATEGORIES, CATEGORIES
        )
    if demand:
        row["demands"] = [demand]
    return row


PURPOSES = value_aliases("purpose")
CATEGORIES = value_aliases("demand_category")
