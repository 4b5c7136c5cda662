"""Household -> cadre inside each grid: one min-cost flow over the whole township.

Pure (frames in, arrays out; no database) so the re-run, the redraw preview and
the benchmark share it. The network, with integer costs in metres:

    household --(1, d(h, c) + KEEP_BONUS_M unless c is its current cadre)--> cadre c
    priority household --> prio(c) --(fair share free, then SPREAD_PENALTY_M each)--> c
    cadre c --(capacity minus pinned load)--> sink
    household --(UNASSIGNED_COST, twice that for priority)--> overflow --> sink

so capacity is a hard limit, distances to the cadre's base are minimised, priority
households are spread up to each cadre's fair share ceil(P / cadres) of the grid,
a household only leaves its current cadre when that saves more than KEEP_BONUS_M
(low churn by design), and when capacity runs out the non-priority households
farthest from any cadre are the ones left over. Pinned households never move and
use up their cadre's capacity.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from grids.assignment.schemas import ScoreOut

logger = logging.getLogger(__name__)

KEEP_BONUS_M = 300
SPREAD_PENALTY_M = 2_000
UNASSIGNED_COST = 10_000_000
NO_CADRE = -1

REASON_OUTSIDE = "outside_every_grid"
REASON_NO_CADRE = "grid_has_no_cadre"
REASON_CAPACITY = "capacity_exhausted"


@dataclass(frozen=True)
class CadrePlan:
    """New cadre per household row (-1: none), why not, and the two scores."""

    cadre_id: npt.NDArray[np.int64]
    reason: npt.NDArray[np.object_]
    optimiser: ScoreOut
    greedy: ScoreOut


def _bases(hh: pd.DataFrame, cadres: pd.DataFrame) -> npt.NDArray[np.float64]:
    """Each cadre's base in metres; baseless cadres get a stable stand-in.

    Stand-in: the centroid of the households they already look after (stable
    across re-runs), else a farthest-point seed among their grid's households.
    """
    xy: npt.NDArray[np.float64] = cadres[["bx", "by"]].to_numpy(dtype=float).copy()
    missing = np.flatnonzero(np.isnan(xy[:, 0]))
    if len(missing) == 0:
        return xy
    hx = hh[["x", "y"]].to_numpy(dtype=float)
    for c in missing:
        mine = hh["cadre_id"].to_numpy() == cadres["id"].iat[c]
        if mine.any():
            xy[c] = hx[mine].mean(axis=0)
    for grid_id, group in cadres.iloc[missing].groupby("home_grid_id"):
        todo = [c for c in group.index if np.isnan(xy[c, 0])]
        members = hx[hh["grid_id"].to_numpy() == grid_id]
        if not todo or len(members) == 0:
            continue
        taken = [xy[c] for c in cadres.index[cadres["home_grid_id"] == grid_id]]
        taken = [t for t in taken if not np.isnan(t[0])] or [members.mean(axis=0)]
        for c in todo:
            d = np.min(
                np.linalg.norm(members[:, None, :] - np.array(taken)[None], axis=2),
                axis=1,
            )
            xy[c] = members[int(np.argmax(d))]
            taken.append(xy[c])
    return xy


def _score(
    assigned: npt.NDArray[np.int64],
    pair_h: npt.NDArray[np.int64],
    pair_c: npt.NDArray[np.int64],
    pair_d: npt.NDArray[np.float64],
    priority: npt.NDArray[np.bool_],
    fair: npt.NDArray[np.int64],
    load0: npt.NDArray[np.int64],
    prio0: npt.NDArray[np.int64],
    movable: npt.NDArray[np.int64],
) -> ScoreOut:
    """Score cadre positions ``assigned`` (-1: none) for the movable households."""
    chosen = assigned[pair_h] == pair_c
    dist = pair_d[chosen]
    k = len(fair)
    done = assigned >= 0
    load = load0 + np.bincount(assigned[done], minlength=k)
    prio = prio0 + np.bincount(assigned[done & priority], minlength=k)
    excess = int(np.maximum(prio - fair, 0).sum())
    total = float(dist.sum())
    return ScoreOut(
        objective=round(total) + SPREAD_PENALTY_M * excess,
        total_distance_m=round(total, 1),
        mean_distance_m=round(total / len(dist), 1) if len(dist) else 0.0,
        max_load=int(load.max()) if k else 0,
        max_priority_per_cadre=int(prio.max()) if k else 0,
        priority_over_fair_share=excess,
        unassigned=int((assigned[movable] < 0).sum()),
    )


def _greedy(
    n: int,
    pair_h: npt.NDArray[np.int64],
    pair_c: npt.NDArray[np.int64],
    pair_d: npt.NDArray[np.float64],
    room: npt.NDArray[np.int64],
) -> npt.NDArray[np.int64]:
    """Baseline: closest household-cadre pairs first, each cadre until it is full."""
    out = np.full(n, NO_CADRE, dtype=np.int64)
    left = room.copy()
    for i in np.argsort(pair_d, kind="stable"):
        h, c = pair_h[i], pair_c[i]
        if out[h] < 0 and left[c] > 0:
            out[h] = c
            left[c] -= 1
    return out


def plan_cadres(hh: pd.DataFrame, cadres: pd.DataFrame) -> CadrePlan:
    """Assign households to the active cadres of their grid.

    ``hh``: id, x, y (metres), grid_id (-1: none), cadre_id (-1: none), pinned,
    priority. ``cadres``: id, home_grid_id, capacity, bx, by (metres, NaN: no base);
    only active cadres. Returns arrays aligned with ``hh``'s rows.
    """
    hh = hh.reset_index(drop=True)
    cadres = cadres.reset_index(drop=True)
    n, k = len(hh), len(cadres)
    current = hh["cadre_id"].to_numpy(dtype=np.int64)
    pinned = hh["pinned"].to_numpy(dtype=bool) & (current >= 0)
    priority = hh["priority"].to_numpy(dtype=bool)
    grid = hh["grid_id"].to_numpy(dtype=np.int64)
    cadre_ids = cadres["id"].to_numpy(dtype=np.int64)
    cadre_pos = pd.Series(np.arange(k), index=cadre_ids)

    # Pinned households stay and use up capacity (and fair share) of their cadre.
    pinned_pos = cadre_pos.reindex(current[pinned]).to_numpy()
    pinned_pos = pinned_pos[~np.isnan(pinned_pos)].astype(np.int64)
    pinned_prio = cadre_pos.reindex(current[pinned & priority]).dropna().to_numpy()
    load0 = np.bincount(pinned_pos, minlength=k).astype(np.int64)
    prio0 = np.bincount(pinned_prio.astype(np.int64), minlength=k).astype(np.int64)
    capacity = cadres["capacity"].to_numpy(dtype=np.int64)
    room = np.maximum(capacity - load0, 0)

    movable = np.flatnonzero(~pinned & (grid >= 0))
    pairs = pd.DataFrame({"h": movable, "grid": grid[movable]}).merge(
        pd.DataFrame({"c": np.arange(k), "grid": cadres["home_grid_id"].to_numpy()}),
        on="grid",
    )
    pair_h = pairs["h"].to_numpy(dtype=np.int64)
    pair_c = pairs["c"].to_numpy(dtype=np.int64)
    base = _bases(hh, cadres)
    xy = hh[["x", "y"]].to_numpy(dtype=float)
    pair_d = np.linalg.norm(xy[pair_h] - base[pair_c], axis=1)

    # Fair share of priority households per cadre: ceil(P_grid / cadres_grid).
    grid_of_c = cadres["home_grid_id"].to_numpy()
    p_grid = pd.Series(priority[grid >= 0]).groupby(grid[grid >= 0]).sum()
    k_grid = pd.Series(grid_of_c).value_counts()
    fair = np.array(
        [math.ceil(p_grid.get(g, 0) / k_grid[g]) for g in grid_of_c], dtype=np.int64
    )

    assigned = np.full(n, NO_CADRE, dtype=np.int64)
    if len(pairs):
        keep = current[pair_h] == cadre_ids[pair_c]
        fair_room = np.maximum(fair - prio0, 0)
        arcs = (pair_h, pair_c, pair_d, keep)
        assigned = _solve(n, k, movable, arcs, priority, room, fair_room)
    greedy = _greedy(n, pair_h, pair_c, pair_d, room)

    new_ids = np.full(n, NO_CADRE, dtype=np.int64)
    new_ids[assigned >= 0] = cadre_ids[assigned[assigned >= 0]]
    new_ids[pinned] = current[pinned]
    has_cadre = np.isin(grid, grid_of_c)
    reason = np.full(n, None, dtype=object)
    free = new_ids < 0
    reason[free & (grid < 0)] = REASON_OUTSIDE
    reason[free & (grid >= 0) & ~has_cadre] = REASON_NO_CADRE
    reason[free & (grid >= 0) & has_cadre] = REASON_CAPACITY
    scoring = (pair_h, pair_c, pair_d, priority & ~pinned, fair, load0, prio0, movable)
    return CadrePlan(
        cadre_id=new_ids,
        reason=reason,
        optimiser=_score(assigned, *scoring),
        greedy=_score(greedy, *scoring),
    )


def _solve(
    n: int,
    k: int,
    movable: npt.NDArray[np.int64],
    arcs: tuple[npt.NDArray[Any], ...],
    priority: npt.NDArray[np.bool_],
    room: npt.NDArray[np.int64],
    fair_room: npt.NDArray[np.int64],
) -> npt.NDArray[np.int64]:
    """Build the network with array calls, solve once, read back the chosen arcs."""
    # OR-Tools takes ~0.3 s to load: only a run that plans cadres pays for it, not
    # every importer or CLI command that merely imports the assignment service.
    from ortools.graph.python import min_cost_flow

    cadre_node = n + np.arange(k)
    prio_node = n + k + np.arange(k)
    overflow, sink = n + 2 * k, n + 2 * k + 1
    pair_h, pair_c, pair_d, keep = arcs
    cost = np.rint(pair_d).astype(np.int64) + np.where(keep, 0, KEEP_BONUS_M)
    to_cadre = np.where(priority[pair_h], prio_node[pair_c], cadre_node[pair_c])
    m = len(movable)
    unassigned = np.where(priority[movable], 2 * UNASSIGNED_COST, UNASSIGNED_COST)
    ones, zeros = np.ones(max(len(pair_h), m), np.int64), np.zeros(k, np.int64)
    blocks = [  # (tails, heads, capacities, unit costs)
        (pair_h, to_cadre, ones[: len(pair_h)], cost),
        (prio_node, cadre_node, fair_room, zeros),
        (prio_node, cadre_node, room, np.full(k, SPREAD_PENALTY_M)),
        (cadre_node, np.full(k, sink), room, zeros),
        (movable, np.full(m, overflow), ones[:m], unassigned),
        (np.array([overflow]), np.array([sink]), np.array([m]), np.array([0])),
    ]
    tails, heads, caps, costs = (
        np.concatenate([b[i] for b in blocks]).astype(np.int64) for i in range(4)
    )
    smcf = min_cost_flow.SimpleMinCostFlow()
    smcf.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    supplies = np.zeros(n + 2 * k + 2, dtype=np.int64)
    supplies[movable] = 1
    supplies[sink] = -len(movable)
    smcf.set_nodes_supplies(np.arange(len(supplies)), supplies)
    status = smcf.solve()
    if status != smcf.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed with status {status}")
    flows = smcf.flows(np.arange(len(pair_h)))
    out = np.full(n, NO_CADRE, dtype=np.int64)
    used = flows > 0
    out[pair_h[used]] = pair_c[used]
    logger.info("cadre flow: %d households, %d cadres", m, k)
    return out
