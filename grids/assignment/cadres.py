"""Household -> cadre inside each grid: one min-cost flow over the whole township.

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
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.spatial import cKDTree

from grids.assignment.schemas import ScoreOut

logger = logging.getLogger(__name__)

KEEP_BONUS_M = 300
SPREAD_PENALTY_M = 2_000
UNASSIGNED_COST = 10_000_000
NO_CADRE = -1

REASON_OUTSIDE = "outside_every_grid"
REASON_NO_CADRE = "grid_has_no_cadre"
REASON_CAPACITY = "capacity_exhausted"
DEFAULT_CANDIDATES = 8
MAX_ROUNDS = 20  # pricing rounds; one or two in practice
GRID_APART_M = 1e9  # grids set this far apart on a third axis: one KD-tree for all


Pairs = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]


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
    out = np.full(n, NO_CADRE, dtype=np.int64)
    left = room.copy()
    for i in np.argsort(pair_d, kind="stable"):
        h, c = pair_h[i], pair_c[i]
        if out[h] < 0 and left[c] > 0:
            out[h] = c
            left[c] -= 1
    return out


def candidate_pairs(
    households: npt.NDArray[np.int64],
    xy: npt.NDArray[np.float64],
    grid: npt.NDArray[np.int64],
    base: npt.NDArray[np.float64],
    grid_of_c: npt.NDArray[np.int64],
    current_pos: npt.NDArray[np.int64],
    *,
    limit: int | None,
) -> Pairs:
    """Arcs (household, cadre, metres) to the nearest cadres of each one's grid.

    ``limit`` nearest (None: all of them), plus the current cadre when that one is
    of the grid. One KD-tree over every cadre, grids kept apart on a third axis, so
    a query never returns another grid's cadre: linear in households.
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
    pair_h, pair_c, pair_d = candidate_pairs(movable, *where, limit=limit)

    # Fair share of priority households per cadre: ceil(P_grid / cadres_grid).
    p_grid = pd.Series(priority[grid >= 0]).groupby(grid[grid >= 0]).sum()
    k_grid = pd.Series(grid_of_c).value_counts()
    fair = np.array(
        [math.ceil(p_grid.get(g, 0) / k_grid[g]) for g in grid_of_c], dtype=np.int64
    )

    assigned = np.full(n, NO_CADRE, dtype=np.int64)
    flow_cost = 0
    fair_room = np.maximum(fair - prio0, 0)
    flow: _Flow | None = None
    solve = (n, k, movable, priority, (room, fair_room), grid, grid_of_c)
    redo: npt.NDArray[np.int64] | None = None  # None: every grid
    for _ in range(MAX_ROUNDS):  # add arcs priced out by the duals, until none
        if not len(pair_h):
            break
        keep = current[pair_h] == cadre_ids[pair_c]
        flow = _solve(*solve, (pair_h, pair_c, pair_d, keep), flow, redo)
        extra = _priced_arcs(flow, movable, priority, where)
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


def _solve(
    n: int,
    k: int,
    movable: npt.NDArray[np.int64],
    priority: npt.NDArray[np.bool_],
    capacity: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]],
    grid: npt.NDArray[np.int64],
    grid_of_c: npt.NDArray[np.int64],
    arcs: tuple[npt.NDArray[Any], ...],
    previous: _Flow | None = None,
    only: npt.NDArray[np.int64] | None = None,
) -> _Flow:
    """Solve grid by grid (arcs never leave a grid): small networks solve fast."""
    pair_h, pair_c, pair_d, keep = arcs
    cost = np.rint(pair_d).astype(np.int64) + np.where(keep, 0, KEEP_BONUS_M)
    if previous is None or only is None:
        assigned = np.full(n, NO_CADRE, dtype=np.int64)
        potential = np.zeros(n + 2 * k)
        costs: dict[int, int] = {}
    else:  # only these grids got new arcs: the others keep their solution
        assigned = previous.assigned.copy()
        potential = previous.potential.copy()
        costs = dict(previous.grid_costs)
    by_arc = np.argsort(grid[pair_h], kind="stable")
    arc_grid = grid[pair_h][by_arc]
    hs_all = movable[np.argsort(grid[movable], kind="stable")]
    h_grid = grid[hs_all]
    cs_all = np.argsort(grid_of_c, kind="stable")
    c_grid = grid_of_c[cs_all]
    for g in np.unique(arc_grid) if only is None else only:
        sl = slice(*np.searchsorted(arc_grid, [g, g + 1]))
        hs = np.sort(hs_all[slice(*np.searchsorted(h_grid, [g, g + 1]))])
        cs = np.sort(cs_all[slice(*np.searchsorted(c_grid, [g, g + 1]))])
        a = by_arc[sl]
        local = (
            np.searchsorted(hs, pair_h[a]),
            np.searchsorted(cs, pair_c[a]),
            cost[a],
        )
        out, flow_cost, pot = _solve_grid(
            local, priority[hs], capacity[0][cs], capacity[1][cs]
        )
        assigned[hs] = np.where(out >= 0, cs[np.maximum(out, 0)], NO_CADRE)
        costs[int(g)] = flow_cost
        m, kc = len(hs), len(cs)
        potential[hs] = pot[:m]
        potential[n + cs] = pot[m : m + kc]
        potential[n + k + cs] = pot[m + kc : m + 2 * kc]
    logger.info("cadre flow: %d households, %d cadres, %d arcs", len(movable), k,
                len(pair_h))  # fmt: skip
    return _Flow(assigned, sum(costs.values()), potential, costs)


def _solve_grid(
    arcs: tuple[npt.NDArray[np.int64], ...],
    priority: npt.NDArray[np.bool_],
    room: npt.NDArray[np.int64],
    fair_room: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], int, npt.NDArray[np.float64]]:
    """One grid's network (households 0..m-1, cadres 0..k-1), built with array calls.

    Returns the cadre per household (-1: none), the cost and the node potentials.
    """
    # OR-Tools takes ~0.3 s to load: only a run that plans cadres pays for it, not
    # every importer or CLI command that merely imports the assignment service.
    from ortools.graph.python import min_cost_flow

    pair_h, pair_c, cost = arcs
    m, k = len(priority), len(room)
    cadre_node = m + np.arange(k)
    prio_node = m + k + np.arange(k)
    overflow, sink = m + 2 * k, m + 2 * k + 1
    to_cadre = np.where(priority[pair_h], prio_node[pair_c], cadre_node[pair_c])
    households = np.arange(m)
    unassigned = np.where(priority, 2 * UNASSIGNED_COST, UNASSIGNED_COST)
    zeros = np.zeros(k, np.int64)
    blocks = [  # (tails, heads, capacities, unit costs)
        (pair_h, to_cadre, np.ones(len(pair_h), np.int64), cost),
        (prio_node, cadre_node, fair_room, zeros),
        (prio_node, cadre_node, room, np.full(k, SPREAD_PENALTY_M)),
        (cadre_node, np.full(k, sink), room, zeros),
        (households, np.full(m, overflow), np.ones(m, np.int64), unassigned),
        (np.array([overflow]), np.array([sink]), np.array([m]), np.array([0])),
    ]
    tails, heads, caps, costs = (
        np.concatenate([b[i] for b in blocks]).astype(np.int64) for i in range(4)
    )
    smcf = min_cost_flow.SimpleMinCostFlow()
    smcf.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    supplies = np.zeros(m + 2 * k + 2, dtype=np.int64)
    supplies[:m] = 1
    supplies[sink] = -m
    smcf.set_nodes_supplies(np.arange(len(supplies)), supplies)
    status = smcf.solve()
    if status != smcf.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed with status {status}")
    flows = smcf.flows(np.arange(len(tails)))
    out = np.full(m, NO_CADRE, dtype=np.int64)
    used = flows[: len(pair_h)] > 0
    out[pair_h[used]] = pair_c[used]
    potential = _potentials(m, k, tails, heads, caps, costs, flows)
    return out, int(smcf.optimal_cost()), potential


@dataclass(frozen=True)
class _Flow:
    """A solved network: cadre per household, its cost, and the node potentials."""

    assigned: npt.NDArray[np.int64]
    cost: int
    potential: npt.NDArray[np.float64]  # households, then k cadre and k prio nodes
    grid_costs: dict[int, int]


def _potentials(
    n: int,
    k: int,
    tails: npt.NDArray[np.int64],
    heads: npt.NDArray[np.int64],
    caps: npt.NDArray[np.int64],
    costs: npt.NDArray[np.int64],
    flows: npt.NDArray[np.int64],
) -> npt.NDArray[np.float64]:
    """Shortest-path potentials on the optimal flow's residual network.

    A household has one residual arc in (the reverse of the arc it uses), so its
    other arcs become arcs between the 2k + 2 collector nodes and Bellman-Ford runs
    on those alone; a household's potential follows from its used arc.
    """
    hh_arc = tails < n
    used = hh_arc & (flows > 0)
    via = np.full(n, -1, np.int64)
    via_cost = np.zeros(n, np.int64)
    via[tails[used]] = heads[used] - n
    via_cost[tails[used]] = costs[used]
    free = hh_arc & ~used & (via[np.minimum(tails, n - 1)] >= 0)
    u = [via[tails[free]], tails[~hh_arc & (flows < caps)] - n]
    v = [heads[free] - n, heads[~hh_arc & (flows < caps)] - n]
    w = [costs[free] - via_cost[tails[free]], costs[~hh_arc & (flows < caps)]]
    back = ~hh_arc & (flows > 0)
    u.append(heads[back] - n)
    v.append(tails[back] - n)
    w.append(-costs[back])
    uu, vv = np.concatenate(u), np.concatenate(v)
    ww = np.concatenate(w).astype(float)
    d = np.zeros(2 * k + 2)
    for _ in range(2 * k + 3):
        new = d.copy()
        np.minimum.at(new, vv, d[uu] + ww)
        if np.array_equal(new, d):
            break
        d = new
    out = np.zeros(n + 2 * k + 2)
    out[n:] = d
    has = via >= 0
    out[:n][has] = d[via[has]] - via_cost[has]
    return out


def _priced_arcs(
    flow: _Flow,
    movable: npt.NDArray[np.int64],
    priority: npt.NDArray[np.bool_],
    where: tuple[npt.NDArray[Any], ...],
) -> Pairs:
    """Left-out arcs with a negative reduced cost: they could lower the optimum.

    None means the sparse optimum is the dense one. Such an arc costs at least its
    distance plus KEEP_BONUS_M (the current cadre's arc is always in), so only
    cadres within a radius set by the potentials need looking at (a ball query).
    """
    xy, grid, base, grid_of_c, _ = where
    n = len(grid)
    k = len(grid_of_c)
    pot = flow.potential
    d_cadre, d_prio = pot[n : n + k], pot[n + k : n + 2 * k]
    best_c = pd.Series(d_cadre).groupby(grid_of_c).max()
    best_p = pd.Series(d_prio).groupby(grid_of_c).max()
    g = grid[movable]
    best = np.where(
        priority[movable],
        best_p.reindex(g).to_numpy(),
        best_c.reindex(g).to_numpy(),
    )
    radius = best - pot[movable] - KEEP_BONUS_M + 0.5
    look = np.isfinite(radius) & (radius > 0)
    empty = np.zeros(0, np.int64)
    if not look.any():
        return empty, empty, np.zeros(0)
    codes, gi = np.unique(grid_of_c, return_inverse=True)
    tree = cKDTree(np.c_[base, gi * GRID_APART_M])
    hs = movable[look]
    hg = np.searchsorted(codes, grid[hs])
    found = tree.query_ball_point(np.c_[xy[hs], hg * GRID_APART_M], r=radius[look])
    sizes = np.fromiter((len(f) for f in found), np.int64, len(found))
    h = np.repeat(hs, sizes)
    c = np.fromiter((i for f in found for i in f), np.int64, int(sizes.sum()))
    d = np.linalg.norm(xy[h] - base[c], axis=1)
    target = np.where(priority[h], pot[n + k + c], pot[n + c])
    reduced = np.rint(d) + KEEP_BONUS_M + pot[h] - target
    new = reduced < 0  # arcs in the network never are: the flow is optimal
    return h[new], c[new], d[new]
