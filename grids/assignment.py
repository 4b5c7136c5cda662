"""Household -> grid -> cadre for a township: read once, plan in memory, write changes.

The plan is computed set-based (one vectorised STRtree query for the grids, one
min-cost flow for the cadres) from frames read with COPY, and only the rows whose
grid or cadre changed are written back: COPY into a temporary table, then one
``UPDATE ... FROM`` joined on id. The same plan serves the re-run, the redraw
preview (with replaced grid outlines, nothing written) and the demo loader.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import CursorResult, text
from sqlalchemy.orm import Session

import shapely

from gis_service.bulk import copy_frame, read_frame
from gis_service.db import atomic
from gis_service.errors import NotFound
from gis_service.townships import require_township
from grids.cadre_assignment import REASON_OUTSIDE, CadrePlan, plan_cadres
from grids.locate import NO_GRID, locate_points, to_metres, utm_transformer
from grids.models import PRIORITY_TAGS
from grids.reports import unassigned_households
from grids.schemas import AssignmentSummary, OutsideHousehold

logger = logging.getLogger(__name__)

_HOUSEHOLDS_SQL = """
SELECT h.id, h.code, ST_X(h.geom) AS lon, ST_Y(h.geom) AS lat,
       COALESCE(h.grid_id, -1) AS grid_id, COALESCE(h.cadre_id, -1) AS cadre_id,
       h.cadre_pinned::int AS pinned,
       (h.tags && %(priority)s::varchar[])::int AS priority
FROM households h
WHERE h.township_code = %(t)s AND ({scope})
"""
_ALL = "true"
_BY_ID = "h.id = ANY(%(ids)s::bigint[])"
_BY_GRID = "h.grid_id = ANY(%(grids)s::bigint[]) AND NOT h.id = ANY(%(ids)s::bigint[])"

_GRIDS_SQL = """
SELECT id, code, parent_id, depth, encode(ST_AsBinary(geom), 'hex') AS wkb
FROM grids WHERE township_code = %(t)s
"""
_CADRES_SQL = """
SELECT c.id, c.code, COALESCE(c.home_grid_id, -1) AS home_grid_id, c.capacity,
       c.active::int AS active, ST_X(c.base) AS blon, ST_Y(c.base) AS blat,
       (SELECT count(*) FROM households h
         WHERE h.township_code = %(t)s AND h.cadre_id = c.id) AS load
FROM cadres c WHERE c.township_code = %(t)s
"""
LOCK = text("SELECT pg_advisory_xact_lock(hashtext('gridgis.assign:' || :t))")
_STAGE = (
    text("DROP TABLE IF EXISTS _assign_stage"),
    text(
        "CREATE TEMP TABLE _assign_stage (id bigint PRIMARY KEY, grid_id bigint,"
        " cadre_id bigint) ON COMMIT DROP"
    ),
)
_APPLY = text(
    """
    UPDATE households h
       SET grid_id = s.grid_id, cadre_id = s.cadre_id, updated_at = now()
      FROM _assign_stage s
     WHERE h.township_code = :t AND h.id = s.id
       AND (h.grid_id IS DISTINCT FROM s.grid_id
            OR h.cadre_id IS DISTINCT FROM s.cadre_id)
    """
)


@dataclass
class Plan:
    """Old and new grid/cadre per household in scope, with the cadre scores."""

    township: str
    full: bool  # every household of the township was in scope
    households: pd.DataFrame  # id, code, grid_id, cadre_id, new_grid_id, new_cadre_id
    grid_ids: np.ndarray  # grid ids (row order of the grids frame)
    grid_codes: np.ndarray
    cadres: pd.DataFrame  # id, code
    cadre_plan: CadrePlan

    def changed(self) -> pd.DataFrame:
        """Rows whose grid or cadre changes."""
        h = self.households
        mask = (h.grid_id != h.new_grid_id) | (h.cadre_id != h.new_cadre_id)
        return h.loc[mask]


def read_grids(session: Session, *, township: str) -> pd.DataFrame:
    """Every grid of the township with its geometry (shapely) for locating points."""
    grids = read_frame(session, _GRIDS_SQL, {"t": township})
    grids["geom"] = shapely.from_wkb(grids.pop("wkb").to_numpy(dtype=object))
    return grids


def _grid_ids(grids: pd.DataFrame, lon: Any, lat: Any) -> np.ndarray:
    """Grid id per point by the one rule in ``grids.locate`` (-1: no grid)."""
    points = shapely.points(np.asarray(lon, float), np.asarray(lat, float))
    if grids.empty:  # a township whose grids are not loaded yet
        return np.full(len(points), NO_GRID, dtype=np.int64)
    found = locate_points(
        points, grids["geom"].to_numpy(), grids["depth"], grids["code"]
    )
    ids = grids["id"].to_numpy(dtype=np.int64)
    return np.where(found >= 0, ids[np.maximum(found, 0)], NO_GRID)


def locate_households(
    session: Session, *, township: str, lon: Sequence[float], lat: Sequence[float]
) -> np.ndarray:
    """Grid id (-1: none) for each lon/lat by the assignment rule, nothing written.

    For importers: put it in the staging rows so new households are inserted with
    their grid, instead of writing every row a second time.
    """
    return _grid_ids(read_grids(session, township=township), lon, lat)


def _read_households(
    session: Session, township: str, scope: str, **params: Any
) -> pd.DataFrame:
    query = _HOUSEHOLDS_SQL.format(scope=scope)
    return read_frame(
        session, query, {"t": township, "priority": list(PRIORITY_TAGS), **params}
    )


def plan_assignment(
    session: Session,
    *,
    township: str,
    household_ids: Sequence[int] | None = None,
    grids: pd.DataFrame | None = None,
    extra_grid_ids: Sequence[int] = (),
) -> Plan:
    """Compute (not write) the grid and cadre of every household in scope.

    Scope: all households, or ``household_ids`` plus the other households of the
    grids they leave or enter (and of ``extra_grid_ids``), whose cadres are
    re-balanced together. ``grids`` replaces the stored outlines (redraw preview).
    """
    grids = read_grids(session, township=township) if grids is None else grids
    ids = [int(i) for i in household_ids] if household_ids is not None else []
    if household_ids is None:
        hh = _read_households(session, township, _ALL)
    else:
        hh = _read_households(session, township, _BY_ID, ids=ids)
        missing = sorted(set(ids) - set(hh["id"].tolist()))
        if missing:
            raise NotFound(
                f"{len(missing)} household(s) not in {township}: {missing[:5]}",
                errors=[
                    {"field": "household_ids", "reason": f"unknown id {m}"}
                    for m in missing[:20]
                ],
            )
    hh["new_grid_id"] = _grid_ids(grids, hh["lon"], hh["lat"])
    if household_ids is not None:
        touched = set(hh["grid_id"]) | set(hh["new_grid_id"]) | set(extra_grid_ids)
        touched.discard(NO_GRID)
        grid_list = sorted(int(g) for g in touched)
        others = _read_households(session, township, _BY_GRID, ids=ids, grids=grid_list)
        others["new_grid_id"] = others["grid_id"]
        hh = pd.concat([hh, others], ignore_index=True)
    cadres = read_frame(session, _CADRES_SQL, {"t": township})
    plan = _plan_cadres(hh, cadres, grids)
    return Plan(
        township=township,
        full=household_ids is None,
        households=hh.assign(new_cadre_id=plan.cadre_id),
        grid_ids=grids["id"].to_numpy(dtype=np.int64),
        grid_codes=grids["code"].to_numpy(),
        cadres=cadres[["id", "code"]],
        cadre_plan=plan,
    )


def _plan_cadres(
    hh: pd.DataFrame, cadres: pd.DataFrame, grids: pd.DataFrame
) -> CadrePlan:
    """Project to metres and run the optimiser on the active cadres."""
    lon = pd.concat([hh["lon"], cadres["blon"].dropna()])
    lat = pd.concat([hh["lat"], cadres["blat"].dropna()])
    if len(lon):
        centre = (float(lon.mean()), float(lat.mean()))
    elif len(grids):
        c = shapely.centroid(shapely.union_all(grids["geom"].to_numpy()))
        centre = (c.x, c.y)
    else:
        centre = (0.0, 0.0)
    transformer = utm_transformer(*centre)
    xy = to_metres(transformer, hh["lon"], hh["lat"])
    active = cadres.loc[cadres["active"] == 1].reset_index(drop=True)
    bxy = to_metres(transformer, active["blon"], active["blat"])
    in_scope = hh.loc[hh["cadre_id"] >= 0, "cadre_id"].value_counts()
    fixed = active["load"] - active["id"].map(in_scope).fillna(0).astype(int)
    frame = hh[["id", "cadre_id", "pinned", "priority"]].assign(
        x=xy[:, 0], y=xy[:, 1], grid_id=hh["new_grid_id"]
    )
    # Households of a cadre outside this run's scope still use its capacity.
    cadre_frame = active[["id", "home_grid_id"]].assign(
        capacity=np.maximum(active["capacity"] - fixed, 0), bx=bxy[:, 0], by=bxy[:, 1]
    )
    return plan_cadres(frame, cadre_frame)


def write_plan(session: Session, plan: Plan) -> int:
    """Write the changed rows: COPY into a temp table, one UPDATE joined on id."""
    changed = plan.changed()
    if changed.empty:
        return 0
    for statement in _STAGE:
        session.execute(statement)
    stage = pd.DataFrame(
        {
            "id": changed["id"],
            "grid_id": changed["new_grid_id"].where(changed["new_grid_id"] >= 0),
            "cadre_id": changed["new_cadre_id"].where(changed["new_cadre_id"] >= 0),
        }
    ).astype({"grid_id": "Int64", "cadre_id": "Int64"})
    copy_frame(session, "_assign_stage", stage)
    session.execute(text("ANALYZE _assign_stage"))
    result: CursorResult[Any] = session.execute(_APPLY, {"t": plan.township})  # type: ignore[assignment]
    return int(result.rowcount)


def summarise(
    session: Session, plan: Plan, written: int, seconds: float
) -> AssignmentSummary:
    """Counts of what the plan changed, by reason, and both cadre scores."""
    h = plan.households
    had, has = h["cadre_id"] >= 0, h["new_cadre_id"] >= 0
    pinned = (h["pinned"] == 1) & had
    reasons = pd.Series(plan.cadre_plan.reason).dropna().value_counts()
    outside: list[OutsideHousehold] = []
    if reasons.get(REASON_OUTSIDE, 0):
        ids = None if plan.full else h["id"].tolist()
        rows = unassigned_households(
            session, township=plan.township, reason=REASON_OUTSIDE, household_ids=ids
        )
        outside = [
            OutsideHousehold(
                household_id=r["id"],
                code=r["code"],
                nearest_grid=r["nearest_grid"],
                distance_m=r["distance_m"],
            )
            for r in rows
        ]
    return AssignmentSummary(
        township=plan.township,
        households=len(h),
        in_grid=int((h["new_grid_id"] >= 0).sum()),
        outside_every_grid=int((h["new_grid_id"] < 0).sum()),
        grid_changed=int((h["grid_id"] != h["new_grid_id"]).sum()),
        cadre_assigned=int(has.sum()),
        newly_assigned=int((~had & has).sum()),
        churn=int((had & (h["cadre_id"] != h["new_cadre_id"])).sum()),
        pinned_kept=int(pinned.sum()),
        unassigned={str(k): int(v) for k, v in reasons.items()},
        rows_written=written,
        optimiser=plan.cadre_plan.optimiser,
        greedy_baseline=plan.cadre_plan.greedy,
        outside=outside,
        seconds=round(seconds, 3),
    )


def assign_households(
    session: Session, *, township: str, household_ids: Sequence[int] | None = None
) -> AssignmentSummary:
    """Assign households (all, or these ids) to their grid and a cadre; store changes.

    Atomic, serialised per township. Call it after households are imported or moved.
    """
    started = time.perf_counter()
    require_township(session, township=township)
    with atomic(session):
        session.execute(LOCK, {"t": township})
        plan = plan_assignment(session, township=township, household_ids=household_ids)
        written = write_plan(session, plan)
    summary = summarise(session, plan, written, time.perf_counter() - started)
    logger.info("assign %s: %d rows, churn %d", township, written, summary.churn)
    return summary
