"""A planned route as the route map shows it: stops numbered, words in Chinese.

The planner (grids.routing) answers in codes and English warnings; this is where
they become what a grid leader reads (its method, distance rule and warnings),
in Chinese or, through ``gettext``, in the page's locale.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from gis_service.core.i18n import N_, same
from gis_service.core.privacy import mask_phone
from grids.visits.schemas import RoutePlan
from maps.render.coverage import STATUS_LABELS, RouteData

Gettext = Callable[[str], str]
DISTANCE_LABELS = {
    "great_circle": N_("直线(大圆)距离"),
    "road_network": N_("沿道路距离"),
}
METRIC_LABELS = {"WGS84 ellipsoid geodesic": N_("长度按 WGS84 椭球测地线计")}
LEG_LABELS = {
    "great_circle": N_("直线"),
    "road": N_("沿道路"),
    "straight_walk": N_("离路直线步行"),
}
METHOD_LABELS = {
    "trivial": N_("直接排序"),
    "held-karp": N_("精确求解"),
    "lkh": N_("LKH 启发式"),
    "nn-2opt": N_("近邻 + 2-opt 优化"),
}
# The planner's warnings (grids.routing) as a leader reads them: the named groups
# fill the translated text's {fields}.
FLAG_PATTERNS = (
    (re.compile(r"split into (?P<days>\d+) days of at most (?P<stops>\d+) stops"),
     N_("分 {days} 天走完, 每天至多 {stops} 户")),
    (re.compile(r"off-road stops \(straight legs at walking speed\): (?P<codes>.*)"),
     N_("离路农户 (按步行速度走直线): {codes}")),
    (re.compile(r"the start is over (?P<m>\d+) m from any road"),
     N_("起点距最近道路超过 {m} 米")),
    (re.compile(r"over (?P<m>\d+) m from any road"), N_("距最近道路超过 {m} 米")),
    (re.compile(r"straight-line leg at walking speed"), N_("本段按步行速度走直线")),
    (re.compile(r"no base: starts at the grid's interior point"),
     N_("干部无驻地: 从网格内部点出发")),
)  # fmt: skip


def flag_text(flag: str, gettext: Gettext = same) -> str:
    """A planner warning in Chinese or ``gettext``'s locale (unknown: as it is)."""
    for pattern, words in FLAG_PATTERNS:
        if found := pattern.fullmatch(flag):
            return gettext(words).format(**found.groupdict())
    return flag


def _leg(stop: Any, gettext: Gettext) -> str:
    mode = LEG_LABELS.get(stop.leg_mode)
    shown = gettext(mode) if mode else stop.leg_mode
    return f"{stop.leg_m:.0f} m, {shown}"


def _flags(stop: Any, gettext: Gettext) -> str | None:
    return "; ".join(flag_text(f, gettext) for f in stop.flags) or None


def _stop_detail(
    stop: Any, row: dict[str, Any], day: int | None, gettext: Gettext
) -> dict[str, Any]:
    """A stop's popup: status under the rules, masked phone, the leg and its flags."""
    _ = gettext
    overdue = row.get("overdue_days")
    last = row.get("last_visit")
    status = STATUS_LABELS.get(row.get("status", ""))
    return {
        _("天"): day,
        _("状态"): _(status) if status else row.get("status"),
        _("逾期"): (
            _("{n} 天").format(n=f"{overdue:.0f}")
            if overdue is not None and overdue > 0
            else None
        ),
        _("上次走访"): last.date().isoformat() if last else _("从未"),
        _("电话"): mask_phone(row.get("phone")),
        _("本段"): _leg(stop, gettext),
        _("提示"): _flags(stop, gettext),
    }


def _extra_detail(stop: Any, day: int | None, gettext: Gettext) -> dict[str, Any]:
    """A non-household stop's popup (a hazard re-check): what, the leg, its flags."""
    _ = gettext
    return {
        _("天"): day,
        _("类型"): _("隐患复查") if stop.kind == "hazard" else stop.kind,
        _("编号"): stop.ref,
        _("本段"): _leg(stop, gettext),
        _("提示"): _flags(stop, gettext),
    }


def route_from_plan(
    plan: RoutePlan,
    *,
    cadre: dict[str, Any],
    households: dict[int, dict[str, Any]],
    start: str = N_("驻地"),
    gettext: Gettext = same,
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
                    _stop_detail(stop, row, day.day if many else None, gettext)
                    if own
                    else _extra_detail(stop, day.day if many else None, gettext)
                ),
            })  # fmt: skip
            prev = point
        if day.return_leg_mode == "straight_walk" and day.stops:
            offroad.append([prev, here])
    routes = sorted(
        (f for f in plan.geojson["features"] if f["properties"]["kind"] == "route"),
        key=lambda f: f["properties"]["day"],
    )
    _ = gettext
    quality = (
        _("最优") if plan.optimal else _("距下界 ≤ {gap}").format(gap=f"{plan.gap:.1%}")
    )
    distance = DISTANCE_LABELS.get(plan.distance)
    method = METHOD_LABELS.get(plan.method)
    metric = METRIC_LABELS.get(plan.metric)
    back = _("回到起点") if plan.closed else _("不回起点")
    return RouteData(
        cadre={"code": cadre.get("code"), "name": cadre.get("name")},
        stops=stops,
        lines=[f["geometry"]["coordinates"] for f in routes],
        length_m=plan.total_m,
        duration_s=plan.minutes * 60,
        start={"lon": plan.start["lon"], "lat": plan.start["lat"], "label": _(start)},
        note=(
            f"{_(distance) if distance else plan.distance} · "
            f"{_(method) if method else plan.method} · "
            f"{quality} · {back} · "
            f"{_(metric) if metric else plan.metric}"
        ),
        flags=[flag_text(f, gettext) for f in plan.flags],
        offroad_legs=offroad,
    )
