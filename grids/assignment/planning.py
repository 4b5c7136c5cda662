"""The assignment plan: read a township once, locate grids, choose cadres in memory.

Households are read with binary COPY (fixed-width columns), located in their grid by
the one rule in ``grids.tree.locate`` (vectorised, point-free) and given a cadre by
one sparse min-cost flow (``grids.assignment.cadres``). Nothing is written here: the
same plan serves the re-run (``grids.assignment.service`` stores it), the redraw
preview (with replaced grid outlines) and the benchmarks.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

import shapely

from gis_service.core.bulk import paused_gc, read_binary_frame, read_frame
from gis_service.core.errors import NotFound
from gis_service.core.settings import get_settings
from grids.assignment.cadres import CadrePlan, plan_cadres
from grids.models import ASSIGNMENT_REASONS, PRIORITY_TAGS
from grids.tree.locate import (
    NO_GRID,
    locate_points,
    read_grids,
    to_metres,
    utm_transformer,
)

logger = logging.getLogger(__name__)

# Read with binary COPY: every column NOT NULL and fixed-width (no text).
# reason: -1 no stored row, 0 none (has a cadre), else 1 + index in REASONS.
_HOUSEHOLDS_SQL = """
SELECT h.id, ST_X(h.geom) AS lon, ST_Y(h.geom) AS lat,
       COALESCE(a.grid_id, -1) AS grid_id, COALESCE(a.cadre_id, -1) AS cadre_id,
       COALESCE(a.pinned, false)::int::int2 AS pinned,
       (h.tags && %(priority)s::varchar[])::int::int2 AS priority,
       (CASE WHEN a.household_id IS NULL THEN -1
             ELSE COALESCE(array_position(%(reasons)s::text[], a.reason), 0)
        END)::int2 AS reason,
       COALESCE((extract(epoch FROM a.assigned_at) * 1000000)::int8, -1) AS assigned_us
FROM households h
LEFT JOIN household_assignments a
       ON a.township_code = h.township_code AND a.household_id = h.id
WHERE h.township_code = %(t)s AND ({scope})
"""
_HOUSEHOLD_COLUMNS = {
    "id": "int8", "lon": "float8", "lat": "float8", "grid_id": "int8",
    "cadre_id": "int8", "pinned": "int2", "priority": "int2", "reason": "int2",
    "assigned_us": "int8",
}  # fmt: skip
_ALL = "true"
_BY_ID = "h.id = ANY(%(ids)s::bigint[])"
_BY_GRID = "a.grid_id = ANY(%(grids)s::bigint[]) AND NOT h.id = ANY(%(ids)s::bigint[])"

# load: households a cadre has now (a full run has them all in scope: skipped).
_CADRES_SQL = """
SELECT c.id, c.code, COALESCE(c.home_grid_id, -1) AS home_grid_id, c.capacity,
       c.active::int AS active, ST_X(c.base) AS blon, ST_Y(c.base) AS blat,
       COALESCE(l.load, 0) AS load
FROM cadres c
LEFT JOIN (SELECT a.cadre_id, count(*) AS load FROM household_assignments a
           WHERE a.township_code = %(t)s AND a.cadre_id IS NOT NULL AND %(load)s
           GROUP BY a.cadre_id) l ON l.cadre_id = c.id
WHERE c.township_code = %(t)s
"""
_CODES = text(
    "SELECT id, code FROM households WHERE township_code = :t AND id = ANY(:ids)"
)


@dataclass
class Plan:
    """Old and new grid/cadre per household in scope, with the cadre scores."""

    township: str
    full: bool  # every household of the township was in scope
    households: pd.DataFrame  # id, grid_id, cadre_id, new_grid_id, new_cadre_id...
    grid_ids: np.ndarray  # grid ids (row order of the grids frame)
    grid_codes: np.ndarray
    cadres: pd.DataFrame  # id, code
    cadre_plan: CadrePlan

    def changed(self) -> pd.DataFrame:
        """Rows whose grid or cadre changes."""
        h = self.households
        mask = (h.grid_id != h.new_grid_id) | (h.cadre_id != h.new_cadre_id)
        return h.loc[mask]

    def new_reason_codes(self) -> npt.NDArray[np.int64]:
        """The plan's reason per row as stored codes (0: has a cadre)."""
        codes = {r: k for k, r in enumerate(ASSIGNMENT_REASONS, start=1)}
        reason = pd.Series(self.cadre_plan.reason, dtype=object)
        out: npt.NDArray[np.int64] = reason.map(codes).fillna(0).to_numpy(np.int64)
        return out


def _grid_ids(grids: pd.DataFrame, lon: Any, lat: Any) -> np.ndarray:
    """Grid id per point by the one rule in ``grids.tree.locate`` (-1: no grid)."""
    if grids.empty:  # a township whose grids are not loaded yet
        return np.full(len(lon), NO_GRID, dtype=np.int64)
    found = locate_points(
        lon, lat, grids["geom"].to_numpy(), grids["depth"], grids["code"]
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


def household_codes(
    session: Session, *, township: str, ids: Sequence[int]
) -> dict[int, str]:
    """Codes of these households (the plan carries ids only: codes are text)."""
    rows = session.execute(_CODES, {"t": township, "ids": list(ids)})
    return {int(r.id): r.code for r in rows}


def _read_households(
    session: Session, township: str, scope: str, **params: Any
) -> pd.DataFrame:
    query = _HOUSEHOLDS_SQL.format(scope=scope)
    return read_binary_frame(
        session,
        query,
        {
            "t": township,
            "priority": list(PRIORITY_TAGS),
            "reasons": list(ASSIGNMENT_REASONS),
            **params,
        },
        _HOUSEHOLD_COLUMNS,
    )


@paused_gc()  # a million households: cyclic collections only walked them
def plan_assignment(
    session: Session,
    *,
    township: str,
    household_ids: Sequence[int] | None = None,
    grids: pd.DataFrame | None = None,
    extra_grid_ids: Sequence[int] = (),
    candidates: int | None = None,
) -> Plan:
    """Compute (not write) the grid and cadre of every household in scope.

    Scope: all households, or ``household_ids`` plus the other households of the
    grids they leave or enter (and of ``extra_grid_ids``), whose cadres are
    re-balanced together. ``grids`` replaces the stored outlines (redraw preview).
    ``candidates``: cadre arcs per household (None: the setting, default 8).
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
    load = household_ids is not None
    cadres = read_frame(session, _CADRES_SQL, {"t": township, "load": load})
    if candidates is None:
        candidates = get_settings().assignment.candidates
    plan = _plan_cadres(hh, cadres, grids, candidates)
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
    hh: pd.DataFrame, cadres: pd.DataFrame, grids: pd.DataFrame, candidates: int
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
    active = cadres.loc[cadres["active"] == 1].reset_index(drop=True)
    # Only households of grids with a cadre are measured (none at all, often).
    need = hh["new_grid_id"].isin(active["home_grid_id"]).to_numpy()
    xy = np.zeros((len(hh), 2))
    if need.any():
        xy[need] = to_metres(transformer, hh["lon"][need], hh["lat"][need])
    bxy = to_metres(transformer, active["blon"], active["blat"])
    in_scope = hh.loc[hh["cadre_id"] >= 0, "cadre_id"].value_counts()
    # A full run reads no loads (every household is in scope): nothing is fixed.
    fixed = (active["load"] - active["id"].map(in_scope).fillna(0).astype(int)).clip(
        lower=0
    )
    frame = hh[["id", "cadre_id", "pinned", "priority"]].assign(
        x=xy[:, 0], y=xy[:, 1], grid_id=hh["new_grid_id"]
    )
    # Households of a cadre outside this run's scope still use its capacity.
    cadre_frame = active[["id", "home_grid_id"]].assign(
        capacity=np.maximum(active["capacity"] - fixed, 0), bx=bxy[:, 0], by=bxy[:, 1]
    )
    return plan_cadres(frame, cadre_frame, candidates=candidates)
