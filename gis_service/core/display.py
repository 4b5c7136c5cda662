"""How values read on a terminal: Chinese headers and names, local time, rounding.

Codes stay in ``--json``; the readable output shows 网格员 for grid_worker,
2026-06-01 09:00 for an ISO instant in UTC (in the ``timezone`` setting), 1,235
for 1234.56789 m, and tags joined with 、, in columns aligned by display width
(``render_table``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from gis_service.core.cli import render_table
from gis_service.core.settings import shown_zone
from gis_service.core.vocab import LABELS

HEADERS = {
    "code": "编码", "name": "名称", "grid": "网格", "households": "农户数",
    "visited": "已走访", "up_to_date": "按期走访", "due": "应走访",
    "visits": "走访次数",
    "far_visits": "定位偏远", "household": "户号", "head_name": "户主",
    "cadre": "网格员", "cadre_name": "网格员姓名", "visited_at": "走访时间",
    "purpose": "事由", "notes": "备注", "overdue_days": "逾期天数",
    "last_visit": "最近走访", "tags": "户类别", "interval_days": "周期(天)",
    "distance_to_base_m": "距驻点(米)", "fix_distance_m": "定位距离(米)",
    "far": "偏远", "id": "编号", "category": "类别", "description": "内容",
    "status": "状态", "due_date": "期限", "owner": "责任人", "summary": "概况",
    "overdue": "逾期", "county": "县", "townships": "乡镇数",
    "coverage_rate": "覆盖率", "demands": "诉求数", "resolved": "已办结",
    "closure_rate": "办结率", "created_at": "登记时间", "owner_name": "责任人姓名",
    "at": "时间", "from_status": "原状态", "to_status": "新状态", "actor": "经办人",
    "note": "说明", "collected": "受理", "in_progress": "办理中",
}  # fmt: skip
VOCABULARY = {"purpose": "purpose", "category": "demand_category", "role": "role"}


def cell(column: str, value: Any) -> str:
    """One value as shown in ``column``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list | tuple):
        return "、".join(cell(column, v) for v in value)
    if isinstance(value, dict):
        return ", ".join(
            f"{cell(column, k)} {cell(column, v)}" for k, v in value.items()
        )
    if column in VOCABULARY and isinstance(value, str):
        return LABELS[VOCABULARY[column]].get(value, value)
    if column == "status" and isinstance(value, str):
        for names in LABELS.values():
            if value in names:
                return names[value]
    if isinstance(value, float):
        if column.endswith("_m") or column.endswith("_days"):
            return f"{value:,.0f}"
        if column.endswith("_rate"):
            return f"{value:.1%}" if value <= 1 else f"{value:.1f}%"
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    if isinstance(value, datetime):
        return shown_time(value)
    if isinstance(value, str) and len(value) >= 16 and value[10:11] == "T":
        try:
            return shown_time(datetime.fromisoformat(value))
        except ValueError:
            return value
    return str(value)


def shown_time(value: datetime) -> str:
    """An instant to the minute in the zone users read (naive values as they are)."""
    if value.tzinfo is not None:
        value = value.astimezone(shown_zone())
    return value.strftime("%Y-%m-%d %H:%M")


def rows_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """Rows as an aligned table with Chinese headers; numbers to the right."""
    if not rows:
        return "(无)"
    right = [
        j
        for j, c in enumerate(columns)
        if all(isinstance(r.get(c), int | float) or r.get(c) is None for r in rows)
        and not all(r.get(c) is None for r in rows)
    ]
    return render_table(
        [HEADERS.get(c, c) for c in columns],
        [[cell(c, r.get(c)) for c in columns] for r in rows],
        right=right,
    )
