"""Ledgers (台账) a township keeps: visits, demands, disputes, coverage, as files.

GeoJSON and GeoPackage for QGIS (English field names, typed: dates are Date
fields, times DateTime, numbers Integer64/Real), XLSX for the office (Chinese
headers, Chinese names for coded values, times in the ``timezone`` setting,
China time by default). Personal data (the coverage ledgers' phones) is masked
as in every response, unless ``unmask``: then the audit log names the rows, as for
a JSON read. ``crs`` reprojects the GeoPackage (e.g. EPSG:4490).
"""

from __future__ import annotations

import io
import json
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import text
from sqlalchemy.orm import Session

import geopandas as gpd
import pyogrio
import shapely

from gis_service.core.auth import audit
from gis_service.core.errors import InvalidInput
from gis_service.core.privacy import mask_phone
from gis_service.core.settings import shown_zone
from gis_service.core.vocab import label
from grids.visits.coverage import household_statuses
from layers.io.outputs import Export, target_crs, typed_column

# (key, Chinese header, kind): kind is text | int | float | time | date | tags
# | vocab:<name> (a code shown by its Chinese name in XLSX)
Column = tuple[str, str, str]

_VISITS = text(
    """
    SELECT v.id, h.code AS household, h.head_name, c.code AS cadre,
           c.name AS cadre_name, v.visited_at, v.purpose, v.notes,
           ST_AsBinary(COALESCE(v.fix, h.geom)) AS geom
    FROM visits v
    JOIN households h ON h.township_code = v.township_code AND h.id = v.household_id
    LEFT JOIN cadres c ON c.township_code = v.township_code AND c.id = v.cadre_id
    WHERE v.township_code = :t ORDER BY v.visited_at, v.id
    """
)
_DEMANDS = text(
    """
    SELECT d.id, h.code AS household, h.head_name, d.category, d.description,
           d.status, d.due_date, c.code AS owner, c.name AS owner_name,
           d.created_at, d.resolved_at, d.resolution, ST_AsBinary(h.geom) AS geom
    FROM demands d
    JOIN households h ON h.township_code = d.township_code AND h.id = d.household_id
    LEFT JOIN cadres c ON c.township_code = d.township_code
     AND c.id = d.owner_cadre_id
    WHERE d.township_code = :t ORDER BY d.created_at, d.id
    """
)
_DISPUTES = text(
    """
    SELECT d.id, d.status, a.contract_no AS parcel_a, ha.code AS holder_a,
           b.contract_no AS parcel_b, hb.code AS holder_b,
           round(d.overlap_area_m2::numeric, 1)::float8 AS overlap_m2,
           round((d.overlap_area_m2 * 15 / 10000)::numeric, 2)::float8 AS overlap_mu,
           d.first_detected_at, d.last_detected_at, d.closed_reason,
           ST_AsBinary(d.overlap) AS geom
    FROM disputes d
    JOIN pasture_parcels a ON a.township_code = d.township_code AND a.id = d.parcel_a_id
    JOIN pasture_parcels b ON b.township_code = d.township_code AND b.id = d.parcel_b_id
    LEFT JOIN households ha ON ha.township_code = d.township_code
     AND ha.id = a.holder_household_id
    LEFT JOIN households hb ON hb.township_code = d.township_code
     AND hb.id = b.holder_household_id
    WHERE d.township_code = :t ORDER BY d.id
    """
)
_GRID_CODES = text("SELECT id, code FROM grids WHERE township_code = :t")

COLUMNS: dict[str, list[Column]] = {
    "visits": [("id", "走访编号", "int"), ("household", "户号", "text"),
               ("head_name", "户主", "text"), ("cadre", "网格员编号", "text"),
               ("cadre_name", "网格员", "text"), ("visited_at", "走访时间", "time"),
               ("purpose", "走访事由", "vocab:purpose"), ("notes", "备注", "text")],
    "demands": [("id", "诉求编号", "int"), ("household", "户号", "text"),
                ("head_name", "户主", "text"),
                ("category", "诉求类别", "vocab:demand_category"),
                ("description", "诉求内容", "text"),
                ("status", "办理状态", "vocab:demand_status"),
                ("due_date", "办结期限", "date"), ("owner", "责任人编号", "text"),
                ("owner_name", "责任人", "text"), ("created_at", "登记时间", "time"),
                ("resolved_at", "办结时间", "time"),
                ("resolution", "办理结果", "text")],
    "disputes": [("id", "纠纷编号", "int"),
                 ("status", "状态", "vocab:dispute_status"),
                 ("parcel_a", "地块甲合同编号", "text"),
                 ("holder_a", "承包户甲", "text"),
                 ("parcel_b", "地块乙合同编号", "text"),
                 ("holder_b", "承包户乙", "text"),
                 ("overlap_m2", "重叠面积(平方米)", "float"),
                 ("overlap_mu", "重叠面积(亩)", "float"),
                 ("first_detected_at", "首次发现", "time"),
                 ("last_detected_at", "最近发现", "time"),
                 ("closed_reason", "结案说明", "text")],
    "coverage": [("code", "户号", "text"), ("head_name", "户主", "text"),
                 ("members", "家庭人口", "int"), ("village", "所属村", "text"),
                 ("tags", "户类别", "tags"), ("phone", "联系电话", "text"),
                 ("grid", "网格编码", "text"), ("cadre", "网格员编号", "text"),
                 ("cadre_name", "网格员", "text"),
                 ("status", "走访状态", "vocab:coverage"),
                 ("interval_days", "走访周期(天)", "int"),
                 ("last_visit", "最近走访", "time"),
                 ("overdue_days", "逾期天数", "int")],
}  # fmt: skip
COLUMNS["uncovered"] = COLUMNS["coverage"]
PERSONAL = ("coverage", "uncovered")  # ledgers with a phone column
TITLES = {"visits": "走访台账", "demands": "诉求台账", "disputes": "草场纠纷台账",
          "coverage": "农户走访覆盖", "uncovered": "未覆盖农户"}  # fmt: skip
FORMATS = {
    "geojson": "application/geo+json",
    "gpkg": "application/geopackage+sqlite3",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass
class Ledger:
    """Rows of one ledger with their geometries (EPSG:4326)."""

    name: str
    rows: list[dict[str, Any]]
    geoms: list[Any]


def read_ledger(
    session: Session, *, township: str, ledger: str, unmask: bool = False
) -> Ledger:
    """The rows of ``ledger`` for ``township`` (personal data masked unless asked)."""
    if ledger not in COLUMNS:
        raise InvalidInput(
            f"ledger {ledger!r} is not one of {', '.join(COLUMNS)}",
            errors=[{"field": "ledger", "reason": f"one of {', '.join(COLUMNS)}"}],
        )
    params = {"t": township}
    if ledger in ("coverage", "uncovered"):
        rows = household_statuses(session, township=township)
        grids: dict[int, str] = {
            int(i): str(c) for i, c in session.execute(_GRID_CODES, params)
        }
        if ledger == "uncovered":
            rows = [r for r in rows if r["status"] in ("never_visited", "overdue")]
        geoms = list(shapely.points([r["lon"] for r in rows], [r["lat"] for r in rows]))
        for r in rows:
            r["grid"] = grids.get(r["grid_id"])
            if not unmask:
                r["phone"] = mask_phone(r["phone"])
            if r["overdue_days"] is not None:
                r["overdue_days"] = round(float(r["overdue_days"]))
        return Ledger(ledger, rows, geoms)
    query = {"visits": _VISITS, "demands": _DEMANDS, "disputes": _DISPUTES}[ledger]
    rows = [dict(r) for r in session.execute(query, params).mappings()]
    wkb = [None if r["geom"] is None else bytes(r.pop("geom")) for r in rows]
    return Ledger(ledger, rows, list(shapely.from_wkb(wkb)) if rows else [])


def export_ledger(
    session: Session,
    *,
    township: str,
    ledger: str,
    fmt: str = "xlsx",
    crs: str | None = None,
    unmask: bool = False,
) -> Export:
    """``ledger`` as a GeoJSON, GeoPackage or XLSX file.

    ``unmask``: phones whole (coverage ledgers) and an audit entry naming the
    households exported; the other ledgers hold no personal data to unmask.
    """
    if fmt not in FORMATS:
        raise InvalidInput(
            f"format {fmt!r} is not one of {', '.join(FORMATS)}",
            errors=[{"field": "format", "reason": f"one of {', '.join(FORMATS)}"}],
        )
    data = read_ledger(session, township=township, ledger=ledger, unmask=unmask)
    out = Export(_file(data, fmt, crs), FORMATS[fmt], f"{township}_{ledger}.{fmt}")
    if unmask and ledger in PERSONAL:
        codes = [r["code"] for r in data.rows]
        if codes:
            audit.record(
                session,
                action="unmask",
                township=township,
                rows={"ledger": ledger, "codes": codes, "export": fmt,
                      "count": len(codes)},
            )  # fmt: skip
    return out


def _file(data: Ledger, fmt: str, crs: str | None) -> bytes:
    if fmt == "xlsx":
        return _xlsx(data)
    frame = _frame(data)
    if crs and fmt == "gpkg":
        frame = frame.to_crs(target_crs(crs))
    if fmt == "geojson":
        return _geojson(frame)
    with tempfile.TemporaryDirectory(prefix="gridgis-ledger-") as tmp:
        path = Path(tmp) / f"{data.name}.gpkg"
        pyogrio.write_dataframe(
            frame, path, layer=data.name, driver="GPKG", use_arrow=True
        )
        return path.read_bytes()


def _frame(data: Ledger) -> gpd.GeoDataFrame:
    """Typed columns: times DateTime (UTC), dates Date, numbers, tags joined."""
    columns = COLUMNS[data.name]
    frame = pd.DataFrame(
        {
            key: typed_column([r.get(key) for r in data.rows], kind)
            for key, _, kind in columns
        }
    )
    for key, _, kind in columns:
        if kind == "tags":
            frame[key] = ["、".join(t or []) for t in frame[key]]
    return gpd.GeoDataFrame(frame, geometry=data.geoms, crs=4326)


def _geojson(frame: gpd.GeoDataFrame) -> bytes:
    """RFC 7946: EPSG:4326, times ISO 8601."""
    body = json.loads(
        frame.to_json(drop_id=True, to_wgs84=True, default=lambda v: v.isoformat())
    )
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def _cell(value: Any, kind: str) -> Any:
    """A value as the office reads it: local time, Chinese names, 、-joined tags."""
    if value is None:
        return None
    if kind == "time" and isinstance(value, datetime):
        return value.astimezone(shown_zone()).replace(tzinfo=None)
    if kind.startswith("vocab:"):
        return label(kind.removeprefix("vocab:"), value)
    if kind == "tags":
        return "、".join(value)
    return value


def _xlsx(data: Ledger) -> bytes:
    """The 台账: Chinese headers, one row per record, typed cells."""
    columns = COLUMNS[data.name]
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = TITLES[data.name]
    sheet.append([header for _, header, _ in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in data.rows:
        sheet.append([_cell(row.get(key), kind) for key, _, kind in columns])
    for j, (_, header, kind) in enumerate(columns, start=1):
        letter = sheet.cell(row=1, column=j).column_letter
        sheet.column_dimensions[letter].width = (
            20 if kind == "time" else max(10, len(header) * 2 + 2)
        )
        if kind in ("time", "date"):
            for cell in sheet[letter][1:]:
                cell.number_format = (
                    "yyyy-mm-dd hh:mm" if kind == "time" else "yyyy-mm-dd"
                )
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
