"""Routes as a grid leader reads them on a terminal: names beside codes, whole metres.

``--json`` keeps the codes and exact lengths; these tables show the household
head beside each 户号, the cadre's name beside their code, metres rounded, and
Chinese words for the planner's flags, aligned by display width.
"""

from __future__ import annotations

import re
from typing import Any

from gis_service.core.cli import render_table

DISTANCE_WORDS = {"great_circle": "直线距离", "road_network": "沿道路距离"}
STOP_HEADERS = ["序号", "编码", "户主/说明", "距上站(米)", "累计(米)", "提示"]
# The planner's flags (English in the API) as the CLI says them.
_FLAG_WORDS = [
    (r"over (\d+) m from any road", r"距道路超过 \1 米"),
    (r"straight-line leg at walking speed", "直线步行"),
    (r"split into (\d+) days of at most (\d+) stops", r"分 \1 天走完, 每天至多 \2 户"),
    (r"off-road stops \(straight legs at walking speed\): (.*)",
     r"远离道路的站点(直线步行): \1"),
    (r"the start is over (\d+) m from any road", r"起点距道路超过 \1 米"),
    (r"no base: starts at the grid's interior point", "无驻点: 从网格内部出发"),
]  # fmt: skip


def flag_words(flag: str) -> str:
    """A planner flag in Chinese (an unknown one as it is)."""
    for pattern, words in _FLAG_WORDS:
        if re.fullmatch(pattern, flag):
            return re.sub(pattern, words, flag)
    return flag


def metres(value: float | None) -> str:
    """Whole metres with thousands separators (empty for none)."""
    return "" if value is None else f"{value:,.0f}"


def who(code: str | None, name: str | None) -> str:
    """A code with its name beside it (``C1 张三``)."""
    return " ".join(part for part in (code, name) if part)


def stops_table(day: dict[str, Any]) -> str:
    """One day's stops in order, then the way back when the route is closed."""
    rows: list[list[str]] = []
    for s in day["stops"]:
        if s.get("household"):
            code, name = s["household"], s.get("head_name") or ""
        else:
            code, name = f"⚠{s.get('ref') or '?'}", s.get("label") or ""
        rows.append([str(s["seq"]), code, name, metres(s["leg_m"]),
                     metres(s["cumulative_m"]),
                     "、".join(flag_words(f) for f in s.get("flags", []))])  # fmt: skip
    if day.get("return_leg_m") is not None:
        rows.append(["", "", "返回起点", metres(day["return_leg_m"]),
                     metres(day["total_m"]), ""])  # fmt: skip
    return render_table(STOP_HEADERS, rows, right=[0, 3, 4])


def route_text(plan: dict[str, Any]) -> str:
    """A planned route: a summary line, then each day's stops as a table."""
    quality = (
        "最优路线"
        if plan["optimal"]
        else f"近似最优(与最优相差不超过 {plan['gap']:.0%})"
    )
    distance = DISTANCE_WORDS.get(plan["distance"], plan["distance"])
    summary = [
        f"网格员 {who(plan.get('cadre'), plan.get('cadre_name'))}"
        if plan.get("cadre")
        else "",
        distance,
        f"共 {metres(plan['total_m'])} 米",
        f"约 {plan['minutes']:.0f} 分钟",
        quality,
    ]
    lines = [" · ".join(part for part in summary if part)]
    for day in plan["days"]:
        lines.append("")
        lines.append(
            f"第 {day['day']} 天 · {metres(day['total_m'])} 米"
            f" · 约 {day['minutes']:.0f} 分钟"
        )
        lines.append(stops_table(day))
    lines += [flag_words(f) for f in plan["flags"]]
    return "\n".join(lines)


def day_plan_text(plan: dict[str, Any]) -> str:
    """A grid's day plan: one row per cadre, then each cadre's stops."""
    lines = [
        f"网格 {plan['grid']} · 最长 {metres(plan['longest_m'])} 米"
        f" · 合计 {metres(plan['total_m'])} 米"
        + (" · 已跨网格员调配" if plan.get("rebalanced") else "")
    ]
    rows = [
        [c["cadre"], c["name"], str(c["households"]), metres(c["route"]["total_m"]),
         f"{c['route']['minutes']:.0f}"]
        for c in plan["cadres"]
    ]  # fmt: skip
    headers = ["网格员编号", "网格员", "户数", "路程(米)", "约(分钟)"]
    lines.append(render_table(headers, rows, right=[2, 3, 4]))
    for c in plan["cadres"]:
        for day in c["route"]["days"]:
            lines += ["", f"{who(c['cadre'], c['name'])}:", stops_table(day)]
        lines += [flag_words(f) for f in c["route"]["flags"]]
    if plan["left_over"]:
        lines += ["", "留待他日: " + "、".join(plan["left_over"])]
    return "\n".join(lines)
