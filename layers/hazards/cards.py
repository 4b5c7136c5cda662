"""What a warned household holds and what a cadre prints: 明白卡 (HTML) and XLSX.

The cards page is Jinja2 with autoescape (names and addresses are data); the
workbook has Chinese headers. Phones are masked like every other response. The
way to the shelter is its direction and straight-line distance and, when the
township has a roads layer, the route along the roads (layers/hazards/evacuation.py).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy.orm import Session

from gis_service.core.inputs import china_today
from gis_service.core.settings import HazardSettings
from gis_service.core.townships import require_township, township_name
from layers.hazards.evacuation import Way, ways
from layers.hazards.warn import audit_unmasked, warn_household, warn_rows
from layers.models import HAZARD_KIND_LABELS

_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).parent),
    autoescape=select_autoescape(default=True, default_for_string=True),
)
DIRECTIONS = ("北", "东北", "东", "东南", "南", "西南", "西", "西北")
HEADERS = (
    "序号", "户号", "户主", "人口", "村", "地址", "联系电话", "重点户", "标签",
    "隐患编号", "隐患类型", "距离(米)", "预警半径(米)", "涉及隐患", "所在网格",
    "网格员", "网格员电话", "经度", "纬度",
)  # fmt: skip
HAZARD_HEADERS = ("隐患编号", "类型", "等级", "预警半径(米)", "范围内农户")


def _metres(value: float) -> str:
    return f"{value / 1000:.1f} 公里" if value >= 1000 else f"{value:.0f} 米"


def direction(bearing_deg: float) -> str:
    """A compass bearing (0 = north, clockwise) as one of eight Chinese words."""
    return DIRECTIONS[round((bearing_deg % 360) / 45) % 8]


def _card(row: Any, way: Way | None, unmask: bool) -> dict[str, Any]:
    """One household's card: phones (masked by role), the hazard, shelter and way."""
    out = warn_household(row, unmask)
    shelter = None if way is None else way.shelter
    return {
        "household": out.household, "head_name": out.head_name,
        "members": out.members, "village": out.village, "address": out.address,
        "priority": out.priority, "tags": "、".join(out.tags),
        "hazard": out.hazard,
        "hazard_kind": HAZARD_KIND_LABELS.get(out.hazard_kind, out.hazard_kind),
        "distance": "在隐患范围内" if out.distance_m == 0 else _metres(out.distance_m),
        "radius": _metres(out.radius_m),
        "others": "、".join(h for h in out.hazards if h != out.hazard),
        "cadre_name": out.cadre_name, "cadre_phone": out.cadre_phone,
        "grid": out.grid_name or out.grid,
        "shelter": None if shelter is None or way is None else {
            "code": shelter.code, "name": shelter.name, "address": shelter.address,
            "phone": shelter.phone, "distance": _metres(shelter.distance_m),
            "direction": direction(shelter.bearing or 0.0), "roads": way.roads,
            "road": None if way.road_m is None else _metres(way.road_m),
            "minutes": way.walk_minutes, "sketch": way.sketch(),
        },
    }  # fmt: skip


def cards_page(
    session: Session,
    *,
    township: str,
    settings: HazardSettings,
    code: str | None = None,
    unmask: bool = False,
    **choice: Any,
) -> str:
    """One printable 转移避险明白卡 per household at risk (priority first)."""
    name = township_name(session, township=township)
    rows, _ = warn_rows(
        session, township=township, settings=settings, code=code, **choice
    )
    if unmask:
        audit_unmasked(session, township=township, rows=rows)
    found = ways(session, township=township, rows=rows)
    cards = [_card(r, found.get(r.code), unmask) for r in rows]
    title = f"{name} · 隐患 {code}" if code else str(name)
    issued = china_today().isoformat()
    return _ENV.get_template("cards.html").render(
        cards=cards, title=title, issued=f"制卡日期 {issued}"
    )


def warn_xlsx(
    session: Session,
    *,
    township: str,
    settings: HazardSettings,
    unmask: bool = False,
    **choice: Any,
) -> bytes:
    """The warn list as a workbook: 预警农户 and 隐患 sheets, Chinese headers."""
    require_township(session, township=township)
    rows, hazards = warn_rows(session, township=township, settings=settings, **choice)
    if unmask:
        audit_unmasked(session, township=township, rows=rows)
    book = Workbook()
    del book[book.sheetnames[0]]  # the default empty sheet
    sheet = book.create_sheet("预警农户")
    sheet.append(HEADERS)
    for n, row in enumerate(rows, start=1):
        h = warn_household(row, unmask)
        sheet.append([
            n, h.household, h.head_name, h.members, h.village, h.address, h.phone,
            "是" if h.priority else "", "、".join(h.tags), h.hazard,
            HAZARD_KIND_LABELS.get(h.hazard_kind, h.hazard_kind), h.distance_m,
            h.radius_m, "、".join(h.hazards), h.grid_name or h.grid, h.cadre_name,
            h.cadre_phone, h.lon, h.lat,
        ])  # fmt: skip
    summary = book.create_sheet("隐患")
    summary.append(HAZARD_HEADERS)
    for z in hazards:
        summary.append([
            z.code, HAZARD_KIND_LABELS.get(z.kind, z.kind), z.severity, z.radius_m,
            int(z.n),
        ])  # fmt: skip
    for ws in (sheet, summary):
        for cell in ws[1]:
            cell.font = Font(bold=True)
        ws.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
