"""Balanced day plans: a grid's due households split among its cadres for one day.

Routing-engine users ask for *balance*, not the least total distance: the plan
minimises the longest cadre's route (OR-Tools routing with a global span cost on
distance, ties broken by total distance), each cadre keeping their own households
unless ``rebalance`` is asked for; households without a cadre of the grid go to
whoever suits. At most ``per_day`` stops per cadre: beyond that the least overdue
households are left for another day. Each cadre's share is then re-solved alone
(exactly up to 14 stops).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis_service.core.errors import InvalidInput, NotFound
from grids.routing.planner import DUE_LIMIT, build_metric, solve_days
from grids.routing.road_network import Metric
from grids.routing.stops import Stop, extra_stops
from grids.visits.coverage import uncovered_households
from grids.visits.schemas import CadreDayOut, DayPlanRequest, GridDayPlan

logger = logging.getLogger(__name__)

SPAN_WEIGHT = 100  # longest route dominates the total distance in the objective
DROP_PENALTY = 10**10  # leaving a household out costs more than any route

_GRID = text(
    "SELECT id, code, path, ST_X(ST_PointOnSurface(geom)) AS lon, "
    "ST_Y(ST_PointOnSurface(geom)) AS lat FROM grids "
    "WHERE township_code = :t AND code = :code"
)
_GRID_CADRES = text(
    """
    SELECT c.id, c.code, c.name, ST_X(c.base) AS lon, ST_Y(c.base) AS lat
    FROM cadres c
    WHERE c.township_code = :t AND c.active
      AND (EXISTS (SELECT 1 FROM grids g
                   WHERE g.township_code = c.township_code AND g.id = c.home_grid_id
                     AND g.path LIKE :path || '%')
           OR EXISTS (SELECT 1 FROM household_assignments h
                      JOIN grids g ON g.township_code = h.township_code
                                  AND g.id = h.grid_id
                      WHERE h.township_code = c.township_code AND h.cadre_id = c.id
                        AND g.path LIKE :path || '%'))
    ORDER BY c.code
    """
)


def _balance(
    metric: Metric,
    *,
    starts: list[int],
    stops: list[int],
    fixed: list[int | None],
    per_day: int,
    closed: bool,
    time_limit: float,
) -> tuple[list[list[int]], list[int]]:
    """Min-max split of ``stops`` (priority order) among vehicles at ``starts``."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    nodes = starts + stops
    k = len(starts)
    size = len(nodes) + (0 if closed else 1)
    matrix = np.zeros((size, size), dtype=np.int64)
    matrix[: len(nodes), : len(nodes)] = np.rint(metric.dist[np.ix_(nodes, nodes)])
    ends = list(range(k)) if closed else [len(nodes)] * k  # open: a free dummy end
    manager = pywrapcp.RoutingIndexManager(size, k, list(range(k)), ends)
    routing = pywrapcp.RoutingModel(manager)
    rows = matrix.tolist()

    def distance(a: int, b: int) -> int:
        return int(rows[manager.IndexToNode(a)][manager.IndexToNode(b)])

    def visit(a: int) -> int:
        return 1 if k <= manager.IndexToNode(a) < len(nodes) else 0

    transit = routing.RegisterTransitCallback(distance)
    routing.SetArcCostEvaluatorOfAllVehicles(transit)
    routing.AddDimension(transit, 0, int(matrix.sum()) + 1, True, "distance")
    routing.GetDimensionOrDie("distance").SetGlobalSpanCostCoefficient(SPAN_WEIGHT)
    count = routing.RegisterUnaryTransitCallback(visit)
    routing.AddDimensionWithVehicleCapacity(count, 0, [per_day] * k, True, "stops")
    m = len(stops)
    for rank, owner in enumerate(fixed):
        index = manager.NodeToIndex(k + rank)
        if owner is not None:
            # SetAllowedVehiclesForIndex rejects every Python list in ortools 9.15
            # (absl::Span binding); -1 keeps the stop droppable by its disjunction.
            routing.VehicleVar(index).SetValues([-1, owner])
        routing.AddDisjunction([index], DROP_PENALTY + (m - rank) * DROP_PENALTY // m)
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = (
        routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    )
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    params.time_limit.FromMilliseconds(max(int(time_limit * 1000), 100))
    solution = routing.SolveWithParameters(params)
    if solution is None:  # pragma: no cover - disjunctions keep it feasible
        raise InvalidInput("no day plan found within the time limit")
    shares: list[list[int]] = [[] for _ in range(k)]
    for v in range(k):
        index = routing.Start(v)
        while not routing.IsEnd(index):
            node = manager.IndexToNode(index)
            if k <= node < len(nodes):
                shares[v].append(nodes[node])
            index = solution.Value(routing.NextVar(index))
    planned = {s for share in shares for s in share}
    return shares, [s for s in stops if s not in planned]


def _own_shares(
    stops: list[int], fixed: list[int | None], k: int, per_day: int
) -> tuple[list[list[int]], list[int]]:
    """Each cadre their own households, most overdue first, up to ``per_day``."""
    shares: list[list[int]] = [[] for _ in range(k)]
    left = []
    for stop, owner in zip(stops, fixed, strict=True):
        if owner is not None and len(shares[owner]) < per_day:
            shares[owner].append(stop)
        else:
            left.append(stop)
    return shares, left


def plan_grid_day(
    session: Session, *, township: str, grid: str, request: DayPlanRequest
) -> GridDayPlan:
    """A day's routes for the grid's cadres, the longest as short as possible."""
    g = session.execute(_GRID, {"t": township, "code": grid}).mappings().first()
    if g is None:
        raise NotFound(f"grid {grid!r} does not exist in township {township}")
    cadres = (
        session.execute(_GRID_CADRES, {"t": township, "path": g["path"]})
        .mappings()
        .all()
    )
    if not cadres:
        raise InvalidInput(
            f"grid {grid} has no active cadres to plan for",
            errors=[{"field": "grid", "reason": "no active cadres"}],
        )
    due = uncovered_households(
        session, township=township, grid=grid, as_of=request.as_of, limit=DUE_LIMIT
    ).items
    points = [
        Stop(None, None, c["lon"] if c["lon"] is not None else g["lon"],
             c["lat"] if c["lat"] is not None else g["lat"])
        for c in cadres
    ]  # fmt: skip
    # Registered extra stops (hazard re-checks) come first and stay with their
    # cadre even when rebalancing: they are the cadre's duty, not the grid's.
    extra = (
        extra_stops(
            session,
            township=township,
            cadre_ids=[c["id"] for c in cadres],
            as_of=request.as_of,
        )
        if request.extra_stops
        else []
    )
    targets = extra + [
        Stop(
            u.household_id,
            u.household,
            u.lon,
            u.lat,
            cadre_id=u.cadre_id,
            name=u.head_name,
        )
        for u in due
    ]
    points += targets
    k = len(cadres)
    column = {c["id"]: v for v, c in enumerate(cadres)}
    stops = list(range(k, len(points)))
    fixed = [
        None if request.rebalance and t.kind == "household" else column.get(t.cadre_id)
        for t in targets
    ]
    metric = build_metric(session, township=township, points=points, options=request)
    if stops and (request.rebalance or any(f is None for f in fixed)):
        shares, left = _balance(
            metric, starts=list(range(k)), stops=stops, fixed=fixed,
            per_day=request.per_day, closed=request.closed,
            time_limit=request.time_limit_s,
        )  # fmt: skip
    else:
        shares, left = _own_shares(stops, fixed, k, request.per_day)
    out = []
    for v, c in enumerate(cadres):
        plan = solve_days(
            session, metric=metric, points=points, start=v, stops=shares[v],
            options=request, per_day=None, cadre_id=c["id"],
        )  # fmt: skip
        plan.cadre, plan.cadre_name = c["code"], c["name"]
        if c["lon"] is None:
            plan.flags.append("no base: starts at the grid's interior point")
        out.append(
            CadreDayOut(
                cadre_id=c["id"], cadre=c["code"], name=c["name"],
                households=len(shares[v]), route=plan,
            )
        )  # fmt: skip
    features: list[dict[str, Any]] = [
        {**f, "properties": {**f["properties"], "cadre": c.cadre}}
        for c in out
        for f in c.route.geojson["features"]
    ]
    lengths = [c.route.total_m for c in out]
    logger.info(
        "day plan for grid %s: %d cadres, longest %.0f m", grid, k, max(lengths)
    )
    return GridDayPlan(
        grid_id=g["id"], grid=g["code"], rebalanced=request.rebalance,
        longest_m=max(lengths), total_m=sum(lengths), cadres=out,
        left_over=[points[s].code or "" for s in left],
        geojson={"type": "FeatureCollection", "features": features},
    )  # fmt: skip
