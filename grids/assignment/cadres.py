"""Household -> cadre inside each grid: a sparse min-cost flow, one per grid.

Pure (frames in, arrays out; no database) so the re-run, the redraw preview and
the benchmark share it. The network, with integer costs in metres:

    household --(1, d(h, c) + KEEP_BONUS_M unless c is its current cadre)--> cadre c
        (only the ``candidates`` nearest cadres of its grid, and its current one)
    priority household --> prio(c) --(fair share free, then SPREAD_PENALTY_M each)--> c
    cadre c --(capacity minus pinned load)--> sink
    household --(UNASSIGNED_COST, twice that for priority)--> overflow --> sink

so capacity is a hard limit, distances to the cadre's base are minimised, priority
households are spread up to each cadre's fair share ceil(P / cadres) of the grid,
a household only leaves its current cadre when that saves more than KEEP_BONUS_M
(low churn by design), and when capacity runs out the non-priority households
farthest from any cadre are the ones left over. Pinned households never move and
use up their cadre's capacity.

Sparse arcs keep memory and time linear in households: a household only gets arcs
to the ``candidates`` nearest cadres of its grid (default 8, setting
``GRIDGIS_ASSIGNMENT__CANDIDATES``) and to its current cadre, never to every cadre
of the grid. The sparse optimum is then proved to be the dense one: the flow's node
potentials price every left-out arc (a ball query around each household bounds
which cadres could pay), any arc with a negative reduced cost is added and the
flow solved again, until none is left (tests compare both on small grids).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.spatial import cKDTree

from grids.assignment.flow import (
    GRID_APART_M,
    NO_CADRE,
    SPREAD_PENALTY_M,
    Flow,
    Pairs,
    priced_arcs,
    solve,
)
from grids.assignment.schemas import ScoreOut

logger = logging.getLogger(__name__)


REASON_OUTSIDE = "outside_every_grid"
REASON_NO_CADRE = "grid_has_no_cadre"
REASON_CAPACITY = "capacity_exhausted"
DEFAULT_CANDIDATES = 8
MAX_ROUNDS = 20  # pricing rounds; one or two in practice


@dataclass(frozen=True)
class CadrePlan:
    """New cadre per household row (-1: none), why not, and the two scores."""

    cadre_id: npt.NDArray[np.int64]
    reason: npt.NDArray[np.object_]
    optimiser: ScoreOut
    greedy: ScoreOut
    flow_cost: int = 0  # the min-cost flow's own (integer) objective


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
    order = np.argsort(pair_d, kind="stable")
    out = [NO_CADRE] * n
    left = room.tolist()
    for h, c in zip(pair_h[order].tolist(), pair_c[order].tolist(), strict=True):
        if out[h] < 0 and left[c] > 0:  # plain lists: numpy scalars are 10x slower
            out[h] = c
            left[c] -= 1
    return np.asarray(out, dtype=np.int64)


def candidate_pairs(
    households: npt.NDArray[np.int64],
    xy: npt.NDArray[np.float64],
    grid: npt.NDArray[np.int64],
    base: npt.NDArray[np.float64],
    grid_of_c: npt.NDArray[np.int64],
    current_pos: npt.NDArray[np.int64],
    *,
    limit: int | None,
    reach: npt.NDArray[np.float64] | None = None,
) -> Pairs:
    """Arcs (household, cadre, metres) to the nearest cadres of each one's grid.

    ``limit`` nearest (None: all of them), plus the current cadre when that one is
    of the grid. One KD-tree over every cadre, grids kept apart on a third axis, so
    a query never returns another grid's cadre: linear in households. ``reach``, if
    given, gets each household's distance within which every cadre has an arc.
    """
    empty = np.zeros(0, np.int64)
    if not len(households) or not len(grid_of_c):
        return empty, empty, np.zeros(0)
    codes, gi = np.unique(grid_of_c, return_inverse=True)
    hg = np.searchsorted(codes, grid[households])
    found = codes[np.minimum(hg, len(codes) - 1)] == grid[households]
    households, hg = households[found], hg[found]
    per_grid = np.bincount(gi, minlength=len(codes))
    k = int(per_grid.max()) if limit is None else min(limit, int(per_grid.max()))
    tree = cKDTree(np.c_[base, gi * GRID_APART_M])
    query = np.c_[xy[households], hg * GRID_APART_M]
    dist, idx = tree.query(query, k=k)
    dist, idx = dist.reshape(len(households), k), idx.reshape(len(households), k)
    ok = dist < GRID_APART_M / 2  # fewer than k cadres in the grid: the rest is far
    if reach is not None:
        reach[households] = np.where(ok[:, -1], dist[:, -1], np.inf)
    h = np.repeat(households, k)[ok.ravel()]
    c = idx.ravel()[ok.ravel()].astype(np.int64)
    cur = current_pos[households]
    mine = cur >= 0
    mine[mine] &= grid_of_c[cur[mine]] == grid[households[mine]]
    mine &= ~((idx == cur[:, None]) & ok).any(axis=1)  # not among the nearest
    h = np.concatenate([h, households[mine]])
    c = np.concatenate([c, cur[mine]])
    d = np.linalg.norm(xy[h] - base[c], axis=1)
    return h, c, d


def _concat(a: Pairs, b: Pairs) -> Pairs:
    """Two disjoint arc sets as one."""
    h, c, d = (np.concatenate([x, y]) for x, y in zip(a, b, strict=True))
    return h.astype(np.int64), c.astype(np.int64), d.astype(float)


def plan_cadres(
    hh: pd.DataFrame, cadres: pd.DataFrame, *, candidates: int | None = None
) -> CadrePlan:
    """Assign households to the active cadres of their grid.

    ``hh``: id, x, y (metres), grid_id (-1: none), cadre_id (-1: none), pinned,
    priority. ``cadres``: id, home_grid_id, capacity, bx, by (metres, NaN: no base);
    only active cadres. ``candidates``: arcs per household to the nearest cadres of
    its grid (None: ``DEFAULT_CANDIDATES``; 0 or less: every cadre, the dense
    network). Returns arrays aligned with ``hh``'s rows.
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
    grid_of_c = cadres["home_grid_id"].to_numpy(dtype=np.int64)
    base = _bases(hh, cadres)
    xy = hh[["x", "y"]].to_numpy(dtype=float)
    current_pos = cadre_pos.reindex(current).fillna(NO_CADRE).to_numpy(np.int64)
    where = (xy, grid, base, grid_of_c, current_pos)
    limit: int | None = DEFAULT_CANDIDATES if candidates is None else candidates
    limit = limit if limit and limit > 0 else None
    reach = np.zeros(n)
    pair_h, pair_c, pair_d = candidate_pairs(movable, *where, limit=limit, reach=reach)

    # Fair share of priority households per cadre: ceil(P_grid / cadres_grid).
    p_grid = pd.Series(priority[grid >= 0]).groupby(grid[grid >= 0]).sum()
    k_grid = pd.Series(grid_of_c).value_counts()
    fair = np.array(
        [math.ceil(p_grid.get(g, 0) / k_grid[g]) for g in grid_of_c], dtype=np.int64
    )

    assigned = np.full(n, NO_CADRE, dtype=np.int64)
    flow_cost = 0
    fair_room = np.maximum(fair - prio0, 0)
    flow: Flow | None = None
    network = (n, k, movable, priority, (room, fair_room), grid, grid_of_c)
    redo: npt.NDArray[np.int64] | None = None  # None: every grid
    for _ in range(MAX_ROUNDS):  # add arcs priced out by the duals, until none
        if not len(pair_h):
            break
        keep = current[pair_h] == cadre_ids[pair_c]
        flow = solve(*network, (pair_h, pair_c, pair_d, keep), flow, redo)
        extra = priced_arcs(flow, movable, priority, where, reach)
        if not len(extra[0]):
            break
        logger.info("cadre flow: %d arcs priced in", len(extra[0]))
        pair_h, pair_c, pair_d = _concat((pair_h, pair_c, pair_d), extra)
        redo = np.unique(grid[extra[0]])
    if flow is not None:
        assigned, flow_cost = flow.assigned, flow.cost
    greedy = _greedy(n, pair_h, pair_c, pair_d, room)
    left = movable[greedy[movable] < 0]
    if len(left):  # the baseline may take any cadre of the grid, as it always did
        wide = candidate_pairs(left, *where, limit=None)
        used = np.bincount(greedy[greedy >= 0], minlength=k)
        more = _greedy(n, *wide, np.maximum(room - used, 0))
        greedy = np.where(greedy >= 0, greedy, more)
        is_left = np.zeros(n, dtype=bool)
        is_left[left] = True
        kept = ~is_left[pair_h]  # their arcs come again, with every cadre's
        pair_h, pair_c, pair_d = _concat(
            (pair_h[kept], pair_c[kept], pair_d[kept]), wide
        )

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
        flow_cost=flow_cost,
    )
