"""Visit-route planning: a cadre's (or chosen) households as an ordered route.

Distances come from ``road_network`` (great-circle, or along the roads layer);
every reported length is the drawn leg measured on the WGS84 ellipsoid (``geodesy``);
tours from ``tsp`` (exact up to 14 stops, LKH with a bound beyond). Too many stops
for one day are cut into balanced consecutive stretches of the whole tour and each
day is re-solved from the start. A grid's day plan (``plan_grid_day``) lives in
``grids.routing.day_plans``.
"""

from __future__ import annotations

import itertools
import logging
import math
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis_service.core.errors import InvalidInput, NotFound
from gis_service.core.geojson import feature
from grids.routing.geodesy import METRIC
from grids.routing.road_network import Metric, great_circle_metric, road_metric
from grids.routing.stops import Stop, extra_stops
from grids.routing.tsp import mst_length, solve_tour
from grids.tree.scope import check_references
from grids.visits.coverage import uncovered_households
from grids.visits.schemas import (
    DayRoute,
    RouteOptions,
    RoutePlan,
    RouteRequest,
    StopOut,
)

logger = logging.getLogger(__name__)

DUE_LIMIT = 10_000

_CADRE = text(
    "SELECT id, code, name, ST_X(base) AS lon, ST_Y(base) AS lat "
    "FROM cadres WHERE township_code = :t AND code = :code"
)
_HOUSEHOLDS = text(
    "SELECT id, code, head_name, ST_X(geom) AS lon, ST_Y(geom) AS lat "
    "FROM households "
    "WHERE township_code = :t AND code = ANY(CAST(:codes AS text[])) ORDER BY code"
)
# Points and one LineString per day, rendered by PostGIS for the GeoJSON answer.
_GEOJSON = text(
    """
    SELECT 'point' AS kind, p.i AS key,
           ST_AsGeoJSON(ST_SetSRID(ST_MakePoint(p.x, p.y), 4326), 7) AS geometry
    FROM unnest(CAST(:px AS float8[]), CAST(:py AS float8[])) WITH ORDINALITY
         AS p(x, y, i)
    UNION ALL
    SELECT 'line', l.day,
           ST_AsGeoJSON(ST_MakeLine(ST_SetSRID(ST_MakePoint(l.x, l.y), 4326)
                                    ORDER BY l.i), 7)
    FROM unnest(CAST(:lday AS int[]), CAST(:lx AS float8[]), CAST(:ly AS float8[]))
         WITH ORDINALITY AS l(day, x, y, i)
    GROUP BY l.day
    ORDER BY 1 DESC, 2
    """
)


def build_metric(
    session: Session, *, township: str, points: list[Stop], options: RouteOptions
) -> Metric:
    """Road-network distances when the township has roads there, else great-circle."""
    lon = np.array([p.lon for p in points])
    lat = np.array([p.lat for p in points])
    if options.roads == "auto":
        metric = road_metric(
            session, township=township, lon=lon, lat=lat, max_snap_m=options.max_snap_m
        )
        if metric is not None:
            return metric
    return great_circle_metric(lon, lat)


def _cut(order: list[int], days: int) -> list[list[int]]:
    """Consecutive stretches of a tour's stops, sizes differing by at most one."""
    stops = order[1:]
    size, extra = divmod(len(stops), days)
    out, at = [], 0
    for d in range(days):
        take = size + (1 if d < extra else 0)
        out.append(stops[at : at + take])
        at += take
    return out


def solve_days(
    session: Session,
    *,
    metric: Metric,
    points: list[Stop],
    start: int,
    stops: list[int],
    options: RouteOptions,
    per_day: int | None,
    cadre_id: int | None = None,
) -> RoutePlan:
    """Route ``stops`` (indices into ``points``/``metric``) from ``start``, by day."""
    flags: list[str] = []
    if not stops:
        return _plan(
            session, metric, points, start, [], options, "none", cadre_id, [], 0.0
        )
    nodes = [start, *stops]
    sub = metric.dist[np.ix_(nodes, nodes)]
    whole = solve_tour(sub, closed=options.closed, time_limit=options.time_limit_s)
    days = math.ceil(len(stops) / per_day) if per_day else 1
    if days == 1:
        tours = [([nodes[i] for i in whole.order], whole)]
        bound = whole.lower_bound
    else:
        # Closed day tours joined at the start form one closed walk over every stop,
        # so the single tour's bound holds; open day paths from the start form a
        # spanning tree, so the minimum spanning tree bounds them.
        bound = whole.lower_bound if options.closed else mst_length(sub)
        flags.append(f"split into {days} days of at most {per_day} stops")
        tours = []
        for chunk in _cut(whole.order, days):
            day_nodes = [start, *(nodes[i] for i in chunk)]
            day_sub = metric.dist[np.ix_(day_nodes, day_nodes)]
            tour = solve_tour(
                day_sub, closed=options.closed, time_limit=options.time_limit_s / days
            )
            tours.append(([day_nodes[i] for i in tour.order], tour))
    return _plan(
        session, metric, points, start, tours, options, whole.method, cadre_id, flags,
        bound,
    )  # fmt: skip


def _plan(
    session: Session,
    metric: Metric,
    points: list[Stop],
    start: int,
    tours: list[tuple[list[int], Any]],
    options: RouteOptions,
    method: str,
    cadre_id: int | None,
    flags: list[str],
    bound: float,
) -> RoutePlan:
    """Legs, times, flags and GeoJSON of solved day tours."""
    days: list[DayRoute] = []
    lines: list[tuple[int, list[tuple[float, float]]]] = []
    speeds = {"speed_kmh": options.speed_kmh, "walk_kmh": options.walk_kmh}
    for day, (order, tour) in enumerate(tours, start=1):
        stops_out: list[StopOut] = []
        coords: list[tuple[float, float]] = []
        total = seconds = 0.0
        legs = list(itertools.pairwise(order))
        if options.closed:
            legs.append((order[-1], start))
        for seq, (i, j) in enumerate(legs, start=1):
            leg = metric.leg_m(i, j)
            total += leg
            seconds += metric.seconds(i, j, leg, **speeds)
            coords.extend(metric.coords(i, j)[1 if coords else 0 :])
            if j == start:
                continue
            point = points[j]
            stop_flags = []
            if metric.offroad[j]:
                stop_flags.append(f"over {options.max_snap_m:.0f} m from any road")
            if metric.mode(i, j) == "straight_walk":
                stop_flags.append("straight-line leg at walking speed")
            own = point.kind == "household"
            stops_out.append(
                StopOut(
                    seq=seq, household_id=point.household_id,
                    household=point.code if own else None,
                    head_name=point.name if own else None, kind=point.kind,
                    ref=None if own else point.code, label=point.label,
                    lon=point.lon, lat=point.lat, leg_m=leg, cumulative_m=total,
                    leg_mode=metric.mode(i, j), flags=stop_flags,
                )
            )  # fmt: skip
        back = metric.leg_m(order[-1], start) if options.closed else None
        back_mode = metric.mode(order[-1], start) if options.closed else None
        days.append(
            DayRoute(
                day=day, stops=stops_out, return_leg_m=back, return_leg_mode=back_mode,
                total_m=total, minutes=seconds / 60, optimal=tour.optimal,
            )
        )  # fmt: skip
        lines.append((day, coords))
    total = sum(d.total_m for d in days)
    offroad = [
        points[i].code or "" for o, _ in tours for i in o[1:] if metric.offroad[i]
    ]
    if offroad:
        flags.append(
            "off-road stops (straight legs at walking speed): " + ", ".join(offroad)
        )
    if tours and metric.offroad[start]:
        flags.append(f"the start is over {options.max_snap_m:.0f} m from any road")
    return RoutePlan(
        cadre_id=cadre_id,
        start={"lon": points[start].lon, "lat": points[start].lat},
        closed=options.closed,
        distance=metric.kind,
        method=method,
        optimal=len(days) <= 1 and all(t.optimal for _, t in tours),
        metric=METRIC,
        total_m=total,
        lower_bound_m=min(bound, total),
        gap=_gap(tours, bound),
        minutes=sum(d.minutes for d in days),
        days=days,
        flags=flags,
        geojson=route_geojson(session, points[start], days, lines),
    )


def _gap(tours: list[tuple[list[int], Any]], bound: float) -> float:
    """How far the tours may be from optimal, on the matrix they were solved on."""
    length = sum(t.length for _, t in tours)
    return max(length - bound, 0.0) / length if length > 0 else 0.0


def route_geojson(
    session: Session,
    start: Stop,
    days: list[DayRoute],
    lines: list[tuple[int, list[tuple[float, float]]]],
) -> dict[str, Any]:
    """Start and stops as points, each day's path as a LineString (one statement)."""
    props: list[dict[str, Any]] = [{"kind": "start"}]
    px, py = [start.lon], [start.lat]
    for d in days:
        for s in d.stops:
            props.append({"kind": "stop", "day": d.day, "seq": s.seq,
                          "household": s.household, "head_name": s.head_name,
                          "stop_kind": s.kind,
                          "ref": s.ref, "label": s.label, "leg_m": round(s.leg_m, 1),
                          "leg_mode": s.leg_mode, "flags": s.flags})  # fmt: skip
            px.append(s.lon)
            py.append(s.lat)
    lday = [day for day, coords in lines if len(coords) > 1 for _ in coords]
    lx = [x for _, coords in lines if len(coords) > 1 for x, _ in coords]
    ly = [y for _, coords in lines if len(coords) > 1 for _, y in coords]
    rows = session.execute(
        _GEOJSON, {"px": px, "py": py, "lday": lday, "lx": lx, "ly": ly}
    ).all()
    by_day = {d.day: d for d in days}
    features = []
    for kind, key, geometry in rows:
        if kind == "point":
            features.append(feature(props[key - 1], geometry))
        else:
            d = by_day[key]
            features.append(
                feature(
                    {
                        "kind": "route",
                        "day": key,
                        "length_m": round(d.total_m, 1),
                        "minutes": round(d.minutes, 1),
                    },
                    geometry,
                )
            )
    return {"type": "FeatureCollection", "features": features}


def find_cadre(session: Session, *, township: str, code: str) -> Any:
    """A cadre's id, code, name and base lon/lat; NotFound when there is none."""
    row = session.execute(_CADRE, {"t": township, "code": code}).mappings().first()
    if row is None:
        raise NotFound(f"cadre {code!r} does not exist in township {township}")
    return row


def _stops(session: Session, township: str, request: RouteRequest) -> list[Stop]:
    """The chosen households, or the cadre's households due as of the request.

    The schema guarantees a cadre when no households are given.
    """
    if request.households is not None:
        refs = [
            {"num": k, "field": f"households.{k - 1}", "kind": "household", "code": c}
            for k, c in enumerate(request.households, start=1)
        ]
        check_references(session, township=township, refs=refs)
        rows = session.execute(
            _HOUSEHOLDS, {"t": township, "codes": sorted(set(request.households))}
        ).mappings()
        return [
            Stop(r["id"], r["code"], r["lon"], r["lat"], name=r["head_name"])
            for r in rows
        ]
    due = uncovered_households(
        session, township=township, cadre=str(request.cadre), as_of=request.as_of,
        limit=DUE_LIMIT,
    ).items  # fmt: skip
    return [
        Stop(u.household_id, u.household, u.lon, u.lat, name=u.head_name) for u in due
    ]


def plan_route(session: Session, *, township: str, request: RouteRequest) -> RoutePlan:
    """An ordered route for a cadre (their due households) or chosen households."""
    cadre = (
        find_cadre(session, township=township, code=request.cadre)
        if request.cadre
        else None
    )
    if request.start_lon is not None and request.start_lat is not None:
        start = Stop(None, None, request.start_lon, request.start_lat)
    elif cadre is not None and cadre["lon"] is not None:
        start = Stop(None, None, cadre["lon"], cadre["lat"])
    else:
        raise InvalidInput(
            "no start point: give start_lon/start_lat"
            + (f" (cadre {request.cadre} has no base)" if cadre is not None else ""),
            errors=[{"field": "start_lon", "reason": "required without a cadre base"}],
        )
    stops = _stops(session, township, request)
    if request.households is None and request.extra_stops and cadre is not None:
        # the cadre's next route also takes what registered sources add for them
        # (open hazards due for a re-check, installed by the app)
        stops += extra_stops(
            session, township=township, cadre_ids=[cadre["id"]], as_of=request.as_of
        )
    points = [start, *stops]
    metric = build_metric(session, township=township, points=points, options=request)
    plan = solve_days(
        session, metric=metric, points=points, start=0,
        stops=list(range(1, len(points))), options=request, per_day=request.per_day,
        cadre_id=cadre["id"] if cadre is not None else None,
    )  # fmt: skip
    if cadre is not None:
        plan.cadre, plan.cadre_name = cadre["code"], cadre["name"]
    logger.info(
        "route of %d stops in %s: %.0f m (%s)", len(stops), township, plan.total_m,
        plan.method,
    )  # fmt: skip
    return plan
