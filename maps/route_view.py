"""A planned route as the route map shows it: stops numbered, words in Chinese.

The planner (grids.routing) answers in codes and English warnings; this is where
they become what a grid leader reads (its method, distance rule and warnings).
"""

from __future__ import annotations

import re
from typing import Any

from gis_service.core.privacy import mask_phone
from grids.visits.schemas import RoutePlan
from maps.render.coverage import STATUS_LABELS, RouteData

DISTANCE_LABELS = {"great_circle": "直线(大圆)距离", "road_network": "沿道路距离"}
METRIC_LABELS = {"WGS84 ellipsoid geodesic": "长度按 WGS84 椭球测地线计"}
LEG_LABELS = {"great_circle": "直线", "road": "沿道路", "straight_walk": "离路直线步行"}
METHOD_LABELS = {
    "trivial": "直接排序",
    "held-karp": "精确求解",
    "lkh": "LKH 启发式",
    "nn-2opt": "近邻 + 2-opt 优化",
}
# The planner's warnings (grids.routing) as a leader reads them.
FLAG_PATTERNS = (
    (re.compile(r"split into (\d+) days of at most (\d+) stops"),
     r"分 \1 天走完, 每天至多 \2 户"),
    (re.compile(r"off-road stops \(straight legs at walking speed\): (.*)"),
     r"离路农户 (按步行速度走直线): \1"),
    (re.compile(r"the start is over (\d+) m from any road"),
     r"起点距最近道路超过 \1 米"),
    (re.compile(r"over (\d+) m from any road"), r"距最近道路超过 \1 米"),
    (re.compile(r"straight-line leg at walking speed"), "本段按步行速度走直线"),
    (re.compile(r"no base: starts at the grid's interior point"),
     "干部无驻地: 从网格内部点出发"),
)  # fmt: skip


def flag_text(flag: str) -> str:
    """A planner warning in Chinese (unknown ones as they are)."""
    for pattern, words in FLAG_PATTERNS:
        if pattern.fullmatch(flag):
            return pattern.sub(words, flag)
    return flag


def _stop_detail(stop: Any, row: dict[str, Any], day: int | None) -> dict[str, Any]:
    """A stop's popup: status under the rules, masked phone, the leg and its flags."""
    overdue = row.get("overdue_days")
    last = row.get("last_visit")
    return {
        "天": day,
        "状态": STATUS_LABELS.get(row.get("status", ""), row.get("status")),
        "逾期": f"{overdue:.0f} 天" if overdue is not None and overdue > 0 else None,
        "上次走访": last.date().isoformat() if last else "从未",
        "电话": mask_phone(row.get("phone")),
        "本段": f"{stop.leg_m:.0f} m, {LEG_LABELS.get(stop.leg_mode, stop.leg_mode)}",
        "提示": "; ".join(flag_text(f) for f in stop.flags) or None,
    }


def _extra_detail(stop: Any, day: int | None) -> dict[str, Any]:
    """A non-household stop's popup (a hazard re-check): what, the leg, its flags."""
    return {
        "天": day,
        "类型": "隐患复查" if stop.kind == "hazard" else stop.kind,
        "编号": stop.ref,
        "本段": f"{stop.leg_m:.0f} m, {LEG_LABELS.get(stop.leg_mode, stop.leg_mode)}",
        "提示": "; ".join(flag_text(f) for f in stop.flags) or None,
    }


def route_from_plan(
    plan: RoutePlan,
    *,
    cadre: dict[str, Any],
    households: dict[int, dict[str, Any]],
    start: str = "驻地",
) -> RouteData:
    """The map's view of a plan: stops numbered over all days, paths, off-road legs."""
    many = len(plan.days) > 1
    stops: list[dict[str, Any]] = []
    offroad: list[list[list[float]]] = []
    here = [plan.start["lon"], plan.start["lat"]]
    for day in plan.days:
        prev = here
        for stop in day.stops:
            row = households.get(stop.household_id or -1, {})
            point = [stop.lon, stop.lat]
            flagged = stop.leg_mode == "straight_walk"
            if flagged:
                offroad.append([prev, point])
            own = stop.kind == "household"
            stops.append({
                "seq": len(stops) + 1, "day": day.day, "lon": stop.lon,
                "lat": stop.lat, "flagged": flagged or bool(stop.flags),
                "kind": stop.kind,
                "label": (
                    f"{stop.household or ''} {row.get('head_name', '')}".strip()
                    if own else stop.label or stop.ref or ""
                ),
                "detail": (
                    _stop_detail(stop, row, day.day if many else None)
                    if own else _extra_detail(stop, day.day if many else None)
                ),
            })  # fmt: skip
            prev = point
        if day.return_leg_mode == "straight_walk" and day.stops:
            offroad.append([prev, here])
    routes = sorted(
        (f for f in plan.geojson["features"] if f["properties"]["kind"] == "route"),
        key=lambda f: f["properties"]["day"],
    )
    quality = "最优" if plan.optimal else f"距下界 ≤ {plan.gap:.1%}"
    return RouteData(
        cadre={"code": cadre.get("code"), "name": cadre.get("name")},
        stops=stops,
        lines=[f["geometry"]["coordinates"] for f in routes],
        length_m=plan.total_m,
        duration_s=plan.minutes * 60,
        start={"lon": plan.start["lon"], "lat": plan.start["lat"], "label": start},
        note=(
            f"{DISTANCE_LABELS.get(plan.distance, plan.distance)} · "
            f"{METHOD_LABELS.get(plan.method, plan.method)} · "
            f"{quality} · {'回到起点' if plan.closed else '不回起点'} · "
            f"{METRIC_LABELS.get(plan.metric, plan.metric)}"
        ),
        flags=[flag_text(f) for f in plan.flags],
        offroad_legs=offroad,
    )
